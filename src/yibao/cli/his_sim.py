"""``yibao his-sim``: a simulated HIS driving whole flows against a running server."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from yibao.cli.common import console, fail


# long: the command's options, then reading the kit, running and reporting
def his_sim(
    url: str = typer.Option("http://127.0.0.1:8000", help="服务地址 / server URL"),
    token: str = typer.Option(
        ..., envvar="YIBAO_HIS_TOKEN", help="HIS 接口令牌（或环境变量 YIBAO_HIS_TOKEN）"
    ),
    kit_file: Path | None = typer.Option(
        None, "--kit", help="sim kit（yibao demo persons --out 写出的 JSON）"
    ),
    persons_file: Path | None = typer.Option(
        None, help="参保人员 CSV：每行 certno,name,insuplc_admdvs"
    ),
    codes_file: Path | None = typer.Option(None, help="目录编码 CSV：每行 code,price[,name]"),
    hospital_code: str | None = typer.Option(None, help="定点医药机构编号（默认取 sim kit）"),
    hospital_name: str | None = typer.Option(None, help="机构名称（默认取 sim kit）"),
    admvs: str | None = typer.Option(None, help="就医地医保区划（默认取 sim kit）"),
    key: str | None = typer.Option(
        None, envvar="YIBAO_HIS_KEY", help="机构签名密钥（SM3；或环境变量 YIBAO_HIS_KEY）"
    ),
    flows: str = typer.Option("both", help="inpatient | outpatient | both"),
    count: int = typer.Option(10, min=1, max=1_000_000, help="流程数 / flows"),
    concurrency: int = typer.Option(4, min=1, max=256, help="并发数 / flows at once"),
    binding: str = typer.Option("json", help="json | soap"),
    reverse_every: int = typer.Option(5, min=0, help="每 N 个流程撤销一次结算（0 不撤销）"),
) -> None:
    """模拟 HIS：按完整流程（住院 1101→2401→2301→2402→2303→2304，门诊
    1101→2201→2204→2206→2207，部分撤销）调用交易接口并统计 / drive whole flows."""
    from yibao.his import HisClient, HisError
    from yibao.his.sim import SimKit, load_kit, read_codes, read_persons, run_sim

    if flows not in ("inpatient", "outpatient", "both"):
        raise fail(f"--flows 应为 inpatient、outpatient 或 both（收到 {flows}）")
    if binding not in ("json", "soap"):
        raise fail(f"--binding 应为 json 或 soap（收到 {binding}）")
    try:
        kit = load_kit(kit_file) if kit_file else SimKit([], [])
        if persons_file:
            kit.persons = read_persons(persons_file)
        if codes_file:
            kit.codes = read_codes(codes_file)
    except (OSError, ValueError, KeyError) as exc:
        raise fail(f"读取 sim kit 失败：{exc}") from None
    code = hospital_code or kit.hospital_code
    region = admvs or kit.mdtrtarea_admvs
    if not code or not region:
        raise fail("需要 --hospital-code 和 --admvs（或含这两项的 --kit）")
    if not kit.persons or not kit.codes:
        raise fail("需要参保人员和目录编码：--kit，或 --persons-file 和 --codes-file")
    with HisClient(
        url,
        token,
        code,
        hospital_name or kit.hospital_name or "HIS模拟机构",
        region,
        key,
        binding=binding,
    ) as his:
        try:
            report = run_sim(
                his,
                kit,
                flows=flows,
                count=count,
                concurrency=concurrency,
                reverse_every=reverse_every,
            )
        except HisError as exc:
            raise fail(f"签到失败 / sign-in failed：{exc.err_msg}") from None
    table = Table(title=f"HIS 模拟 / his-sim（{url}，{binding}）")
    for column in ("项目 / item", "数值 / value"):
        table.add_column(column)
    rows = [
        ("住院流程完成 / inpatient flows", str(report.flows["inpatient"])),
        ("门诊流程完成 / outpatient flows", str(report.flows["outpatient"])),
        ("结算 / settlements", str(report.settlements)),
        ("撤销 / reversals", str(report.reversals)),
        ("失败流程 / errors", str(report.errors)),
        ("报文 / messages", f"{report.messages}（拒绝 {report.refused}）"),
        (
            "时延 p50 / p99",
            f"{report.percentile(0.5) * 1000:.1f} / {report.percentile(0.99) * 1000:.1f} ms",
        ),
        ("用时 / seconds", f"{report.seconds:.2f}"),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for sample in report.error_samples:
        console.print(f"[red]失败[/] {sample}", markup=True, highlight=False)
    console.print(report.last_line(), markup=False, highlight=False)
    if report.errors:
        raise typer.Exit(1)
