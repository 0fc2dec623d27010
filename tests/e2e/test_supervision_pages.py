"""The rule base (规则库) and knowledge base (知识库) pages, issue 13 item 2, over HTTP on
SQLite and PostgreSQL: a draft, rules through the family form (Chinese errors next to
the field, nothing stored), filters, enable/disable, delete, testing against a sample
claim (nothing stored), diff, publish (then read only), retire, Excel round trip; the
knowledge forms; a viewer sees no edit buttons and gets 403 on every change; the
navigation menus by role."""

from __future__ import annotations

import html
import io
import re
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests.builders.settlement import login
from tests.e2e import supervision_kit as kit
from yibao.accounts.roles import Role
from yibao.audit.models import AuditLog
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.supervision.models import (
    KnowledgeRelation,
    KnowledgeRestriction,
    KnowledgeVersion,
    RuleSetVersion,
    StoredRule,
)

HTML = {"accept": "text/html"}
RULES = "/supervision/rules"
KB = "/supervision/knowledge"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture()
def admin(client, db):  # type: ignore[no-untyped-def]
    kit.seed(db)
    b.user(db, Role.BUREAU_REVIEWER, region_code="990100", username="reviewer")
    db.commit()
    login(client, "ruleadmin")
    return client


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    set_scope(db, SYSTEM_SCOPE)
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _testids(text: str, testid: str) -> list[str]:
    return re.findall(rf'data-testid="{testid}"', text)


def _field_error(text: str, field: str) -> str:
    """The error shown next to a form field."""
    m = re.search(rf'data-testid="field-error" data-field="{re.escape(field)}">([^<]*)<', text)
    assert m, f"no error next to {field}"
    return html.unescape(m.group(1))


def _new_set(client, **kw: str) -> int:  # type: ignore[no-untyped-def]
    form = {"region_code": "990100", "name": "规则库测试", "valid_from": "2025-01-01"} | kw
    r = client.post(RULES, data=form, headers=HTML, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    return int(r.headers["location"].rsplit("/", 1)[1])


def _rule_form(**kw: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "rule_id": "SEX01",
        "name": "限性别项目",
        "family": "sex",
        "stages": ["pre", "mid", "post"],
        "window": "visit",
        "result_type": "definite",
        "sev_deg": "3",
        "enabled": "on",
    }
    form.update(kw)
    return form


def _save(client, set_id: int, form: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.post(f"{RULES}/{set_id}/rules", data=form, headers=HTML, follow_redirects=False)


def _claim_form(sex: str = "2", codes: tuple[str, ...] = (kit.PSA,), **kw: str) -> dict[str, str]:
    form = {
        "psn_no": "P1",
        "sex": sex,
        "birth_date": "1980-05-01",
        "mdtrt_id": "M1",
        "care_mode": "otp",
        "hospital_level": "3",
        "begin_date": "2025-03-01",
        "insutype": "310",
        "diagnoses": "K35.800",
        "stage": "mid",
    }
    for i, code in enumerate(codes):
        form |= {f"l{i}_item_code": code, f"l{i}_quantity": "1", f"l{i}_price": "30"}
    return form | kw


# ------------------------------------------------------------------------ rule base


def test_rule_pages_draft_rules_test_publish(admin, db) -> None:  # type: ignore[no-untyped-def]
    page = admin.get(RULES, headers=HTML)
    assert page.status_code == 200 and "no-rule-sets" in page.text
    assert "version-create-form" in page.text
    set_id = _new_set(admin, based_on="empty")
    page = admin.get(f"{RULES}/{set_id}", headers=HTML)
    assert page.status_code == 200 and "草稿" in page.text and 'data-testid="rule-add"' in page.text
    assert "已新建规则库第 1 版" in page.text  # the flash after the redirect

    # the family form shows the family's own parameters
    form = admin.get(f"{RULES}/{set_id}/rules/new?family=frequency", headers=HTML).text
    params = re.findall(r'data-testid="param" data-param="(\w+)"', form)
    assert params == ["codes", "max_times"]
    assert re.findall(
        r'<option value="(\w+)"', form.split('id="r-window"')[1].split("</select>")[0]
    ) == [
        "visit",
        "day",
        "month",
    ]
    part = admin.get(f"{RULES}/{set_id}/rules/params?family=unbundling", headers=HTML).text
    assert re.findall(r'data-param="(\w+)"', part) == ["codes", "mode"] and "<html" not in part
    assert "以组成项目代替打包项目收费" in part
    course = admin.get(f"{RULES}/{set_id}/rules/params?family=course", headers=HTML).text
    assert re.findall(r'data-param="(\w+)"', course) == ["codes", "max_sessions", "max_days"]

    # add a sex rule and a linkage rule; stored with the engine's fields
    assert _save(admin, set_id, _rule_form()).status_code == 303
    r = _save(
        admin,
        set_id,
        _rule_form(
            rule_id="FRQ01",
            name="每日限次",
            family="frequency",
            window="day",
            p_codes="331001001、330100001",
            p_max_times="2",
            sev_deg="2",
            result_type="suspicious",
            stages=["mid", "post"],
            trig_scen=["6", "8"],
        ),
    )
    assert r.status_code == 303, r.text[:2000]
    set_scope(db, SYSTEM_SCOPE)
    frq = db.scalar(select(StoredRule).where(StoredRule.rule_id == "FRQ01"))
    assert frq is not None and frq.params == {"codes": [kit.SURG, kit.ANAES], "max_times": 2}
    assert (frq.window, frq.stages, frq.trig_scen, frq.version) == (
        "day",
        ["mid", "post"],
        [6, 8],
        1,
    )
    # a decimal parameter is stored as its plain text
    qty = _rule_form(
        rule_id="QTY01", family="quantity", window="day", p_codes=kit.DRUG, p_max_per_day="2.50"
    )
    assert _save(admin, set_id, qty).status_code == 303
    db.expire_all()
    stored = db.scalar(select(StoredRule.params).where(StoredRule.rule_id == "QTY01"))
    assert stored == {"codes": [kit.DRUG], "max_per_day": "2.5"}
    r = _save(admin, set_id, qty | {"p_max_per_day": "-1", "editing": "QTY01"})
    assert r.status_code == 422 and "须大于 0" in _field_error(r.text, "params.max_per_day")
    assert (
        admin.post(f"{RULES}/{set_id}/rules/QTY01/delete", headers=HTML, follow_redirects=False)
    ).status_code == 303
    sex = db.scalar(select(StoredRule).where(StoredRule.rule_id == "SEX01"))
    assert sex is not None and sex.params == {} and sex.sev_deg == 3

    # wrong input: the Chinese error next to the field, status 422, nothing stored
    before = _count(db, StoredRule), _count(db, AuditLog)
    cases = [
        (
            _rule_form(rule_id="F2", family="frequency", p_max_times="abc"),
            "params.max_times",
            "须为整数",
        ),
        (
            _rule_form(rule_id="F3", family="frequency", p_max_times="0", p_codes="A1"),
            "params.max_times",
            "不小于 1",
        ),
        (
            _rule_form(rule_id="F4", family="frequency", p_max_times="3"),
            "params.max_times",
            "须同时给出 codes",
        ),
        (_rule_form(rule_id="S2", stages=[]), "stages", "请至少选择一个"),
        (_rule_form(rule_id="S3", window="month"), "window", "窗口须为 visit"),
        (_rule_form(rule_id="", name=""), "rule_id", "规则编码：不能为空"),
        (_rule_form(rule_id="坏编码"), "rule_id", "规则编码"),
        (
            _rule_form(rule_id="S4", stages=["pre"], trig_scen=["7"]),
            "trig_scen",
            "触发场景 7 属于事中",
        ),
        (
            _rule_form(rule_id="S5", valid_from="2025-05-01", valid_to="2025-04-01"),
            "valid_to",
            "失效日期不能早于生效日期",
        ),
        (
            _rule_form(rule_id="D1", family="duplicate", stages=["mid"]),
            "params.types",
            "请至少选择一项",
        ),
        (_rule_form(), "rule_id", "已在这个版本中"),
    ]
    for form_data, field, words in cases:
        r = _save(admin, set_id, form_data)
        assert r.status_code == 422, (field, r.status_code)
        assert words in _field_error(r.text, field), (field, _field_error(r.text, field))
        assert 'data-testid="page-error"' in r.text and 'data-testid="rule-form"' in r.text
    assert (_count(db, StoredRule), _count(db, AuditLog)) == before
    # the form keeps what was typed
    r = _save(admin, set_id, cases[0][0] | {"name": "保留的名称"})
    assert 'value="保留的名称"' in r.text and 'value="abc"' in r.text

    # edit: the form is prefilled, the id cannot change, the change is stored
    edit = admin.get(f"{RULES}/{set_id}/rules/FRQ01/edit", headers=HTML).text
    assert 'value="331001001、330100001"' in edit and 'value="2"' in edit and "readonly" in edit
    changed = _rule_form(
        rule_id="FRQ01",
        editing="FRQ01",
        name="每日限次",
        family="frequency",
        window="day",
        p_codes="331001001",
        p_max_times="3",
        stages=["mid", "post"],
        sev_deg="2",
        result_type="suspicious",
    )
    assert _save(admin, set_id, changed).status_code == 303
    r = _save(admin, set_id, changed | {"rule_id": "FRQ02"})
    assert r.status_code == 422 and "不能改编码" in _field_error(r.text, "rule_id")
    db.expire_all()
    frq = db.scalar(select(StoredRule).where(StoredRule.rule_id == "FRQ01"))
    assert frq is not None and frq.params == {"codes": [kit.SURG], "max_times": 3}

    # enable / disable; filters (HTMX answers the table only)
    assert (
        admin.post(
            f"{RULES}/{set_id}/rules/FRQ01/toggle", headers=HTML, follow_redirects=False
        ).status_code
        == 303
    )
    db.expire_all()
    assert db.scalar(select(StoredRule.enabled).where(StoredRule.rule_id == "FRQ01")) is False
    r = admin.post(
        f"{RULES}/{set_id}/rules/FRQ01/toggle",
        headers=HTML | {"referer": f"http://evil.example{RULES}/{set_id}?family=frequency"},
        follow_redirects=False,
    )
    assert r.headers["location"] == f"{RULES}/{set_id}?family=frequency"  # path only, filter kept
    admin.post(f"{RULES}/{set_id}/rules/FRQ01/toggle", headers=HTML)  # disabled again
    for query, ids in [
        ("enabled=0", ["FRQ01"]),
        ("enabled=1", ["SEX01"]),
        ("family=sex", ["SEX01"]),
        ("stage=pre", ["SEX01"]),
        ("sev_deg=2", ["FRQ01"]),
        ("q=限次", ["FRQ01"]),
        ("q=frq", ["FRQ01"]),
        ("", ["FRQ01", "SEX01"]),
    ]:
        text = admin.get(f"{RULES}/{set_id}?{query}", headers=HTML | {"hx-request": "true"}).text
        assert re.findall(r'data-testid="rule" data-rule="(\w+)"', text) == ids, query
        assert "<html" not in text
    paged = admin.get(f"{RULES}/{set_id}?size=1&page=2", headers=HTML).text
    assert re.findall(r'data-rule="(\w+)"', paged) == ["SEX01"] and "第 2/2 页" in paged

    # test against a sample claim: the form is prefilled; findings in a table; nothing stored
    test_page = admin.get(f"{RULES}/{set_id}/test", headers=HTML).text
    assert "合成示例单据" in test_page and f'value="{kit.PSA}"' in test_page
    assert 'value="DEMO0001"' in test_page
    before = _count(db, AuditLog)
    r = admin.post(f"{RULES}/{set_id}/test", data=_claim_form("2"), headers=HTML)
    assert r.status_code == 200, r.text[:1000]
    assert re.findall(r'data-testid="finding" data-rule="(\w+)"', r.text) == ["SEX01"]
    finding = r.text.split('data-testid="finding"')[1]
    assert "限男性" in finding and "30.00" in finding and "R1 违规项" in finding
    assert "参与审核的规则 1 条" in r.text  # FRQ01 is disabled
    r = admin.post(f"{RULES}/{set_id}/test", data=_claim_form("1"), headers=HTML)
    assert "no-findings" in r.text and "没有发现违规" in r.text
    # pasted JSON claims (the API's shape)
    import json

    r = admin.post(
        f"{RULES}/{set_id}/test",
        data={"claims_json": json.dumps([kit.claim("2", (kit.PSA,))]), "stage": "mid"},
        headers=HTML,
    )
    assert re.findall(r'data-testid="finding" data-rule="(\w+)"', r.text) == ["SEX01"]
    # bad claims: the error next to the field
    r = admin.post(f"{RULES}/{set_id}/test", data=_claim_form(l0_quantity="abc"), headers=HTML)
    assert r.status_code == 422 and "第 1 行数量" in _field_error(r.text, "l0_quantity")
    r = admin.post(
        f"{RULES}/{set_id}/test", data=_claim_form(birth_date="1980-13-01"), headers=HTML
    )
    assert r.status_code == 422 and "出生日期" in _field_error(r.text, "birth_date")
    r = admin.post(f"{RULES}/{set_id}/test", data=_claim_form(codes=()), headers=HTML)
    assert r.status_code == 422 and "至少填写一行" in _field_error(r.text, "lines")
    r = admin.post(f"{RULES}/{set_id}/test", data={"claims_json": "{oops"}, headers=HTML)
    assert r.status_code == 422 and "不是合法的 JSON" in _field_error(r.text, "claims_json")
    assert _count(db, AuditLog) == before

    # delete a rule from the draft
    assert (
        admin.post(
            f"{RULES}/{set_id}/rules/FRQ01/delete", headers=HTML, follow_redirects=False
        ).status_code
        == 303
    )
    assert _count(db, StoredRule) == 1

    # publish (confirmation on the button); then read only, in force
    page = admin.get(f"{RULES}/{set_id}", headers=HTML).text
    assert "data-confirm=" in page.split('data-testid="version-publish"')[1].split(">")[0]
    r = admin.post(
        f"{RULES}/{set_id}/publish", data={"reason": "首版"}, headers=HTML, follow_redirects=False
    )
    assert r.status_code == 303
    page = admin.get(f"{RULES}/{set_id}", headers=HTML).text
    assert "已发布" in page and "各服务进程将在数秒内" in page
    for testid in (
        "rule-add",
        "rule-edit",
        "rule-toggle",
        "rule-delete",
        "version-publish",
        "version-import-form",
    ):
        assert f'data-testid="{testid}"' not in page, testid
    assert 'data-testid="version-retire"' in page
    rt = admin.get("/api/supervision/runtime?admdvs=990102&on=2025-03-01").json()
    assert (rt["rule_set_id"], rt["rules"]) == (set_id, 1)
    r = _save(admin, set_id, _rule_form(sev_deg="1"))
    assert r.status_code == 409 and "不能修改" in r.text
    r = admin.get(f"{RULES}/{set_id}/rules/new", headers=HTML)
    assert r.status_code == 409
    r = admin.post(f"{RULES}/{set_id}/rules/SEX01/toggle", headers=HTML)
    assert r.status_code == 409 and "已发布" in r.text

    # a second draft copies it; the diff page names the change
    second = _new_set(admin, name="第二版", valid_from="2025-06-01")
    assert _save(admin, second, _rule_form(sev_deg="1", editing="SEX01")).status_code == 303
    diff = admin.get(f"{RULES}/{second}/diff?against={set_id}", headers=HTML)
    assert diff.status_code == 200
    changed_rows = diff.text.split('data-testid="diff-changed"')[1]
    assert "SEX01" in changed_rows and "严重程度" in changed_rows and "规则版本" in changed_rows

    # Excel: export the published version, import it into the new draft
    x = admin.get(f"{RULES}/{set_id}/export.xlsx")
    assert x.status_code == 200 and x.headers["content-type"] == XLSX
    r = admin.post(
        f"{RULES}/{second}/import",
        files={"file": ("rules.xlsx", x.content, XLSX)},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    db.expire_all()
    assert db.scalar(select(StoredRule.sev_deg).where(StoredRule.set_id == second)) == 3
    r = admin.post(f"{RULES}/{second}/import", data={}, headers=HTML)
    assert r.status_code == 422 and "请选择要导入的 .xlsx 文件" in r.text
    book = openpyxl.load_workbook(io.BytesIO(x.content))
    book.active.cell(row=2, column=4, value="不存在的规则族")
    buf = io.BytesIO()
    book.save(buf)
    r = admin.post(
        f"{RULES}/{second}/import", files={"file": ("r.xlsx", buf.getvalue(), XLSX)}, headers=HTML
    )
    assert r.status_code == 422 and "规则" in r.text and 'data-testid="page-error"' in r.text
    assert _count(db, StoredRule) == 2  # the failed import left the draft as it was

    # retire the published one; delete the draft
    r = admin.post(
        f"{RULES}/{set_id}/retire", data={"reason": "测试"}, headers=HTML, follow_redirects=False
    )
    assert r.status_code == 303
    assert "已停用" in admin.get(f"{RULES}/{set_id}", headers=HTML).text
    r = admin.post(f"{RULES}/{second}/delete", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == RULES
    assert _count(db, RuleSetVersion) == 1
    listing = admin.get(RULES, headers=HTML).text
    assert len(_testids(listing, "rule-set")) == 1 and 'data-status="retired"' in listing
    actions = set(db.scalars(select(AuditLog.action)))
    assert {
        "supervision.rules.publish",
        "supervision.rules.retire",
        "supervision.rules.rule.put",
    } <= actions


def test_version_form_errors_store_nothing(admin, db) -> None:  # type: ignore[no-untyped-def]
    for form, field, words in [
        (
            {"region_code": "99010", "name": "x", "valid_from": "2025-01-01"},
            "region_code",
            "6 位区划代码",
        ),
        ({"region_code": "990100", "name": "", "valid_from": "2025-01-01"}, "name", "版本名称"),
        ({"region_code": "990100", "name": "x", "valid_from": ""}, "valid_from", "不能为空"),
        (
            {
                "region_code": "990100",
                "name": "x",
                "valid_from": "2025-02-01",
                "valid_to": "2025-01-01",
            },
            "valid_to",
            "早于生效日期",
        ),
        (
            {"region_code": "990100", "name": "x", "valid_from": "2025-01-01", "based_on": "abc"},
            "based_on",
            "请选择",
        ),
    ]:
        for base in (RULES, KB):
            r = admin.post(base, data=form, headers=HTML)
            assert r.status_code == 422, (base, field)
            assert words in _field_error(r.text, field), (base, field)
    r = admin.post(
        RULES,
        data={"region_code": "990200", "name": "外区", "valid_from": "2025-01-01"},
        headers=HTML,
    )
    assert r.status_code == 403 and "无权维护区划 990200" in r.text
    assert _count(db, RuleSetVersion) == 0 and _count(db, KnowledgeVersion) == 0


def test_viewer_sees_no_edit_buttons_and_cannot_change(admin, client, db) -> None:  # type: ignore[no-untyped-def]
    set_id = _new_set(admin, based_on="empty")
    assert _save(admin, set_id, _rule_form()).status_code == 303
    r = admin.post(
        KB,
        data={"region_code": "990100", "name": "知识", "valid_from": "2025-01-01"},
        headers=HTML,
        follow_redirects=False,
    )
    kb_id = int(r.headers["location"].rsplit("/", 1)[1])
    login(client, "reviewer")  # VIEW_RULES only
    for url in (RULES, f"{RULES}/{set_id}", KB, f"{KB}/{kb_id}", f"{KB}/{kb_id}?tab=relations"):
        page = client.get(url, headers=HTML)
        assert page.status_code == 200, url
        for testid in (
            "version-create-form",
            "rule-add",
            "rule-edit",
            "rule-toggle",
            "rule-delete",
            "version-publish",
            "version-delete",
            "version-import-form",
            "restriction-add",
            "relation-add",
        ):
            assert f'data-testid="{testid}"' not in page.text, (url, testid)
        assert 'data-testid="version-export"' in page.text or url in (RULES, KB)
    # reading and testing (nothing stored) are allowed
    assert client.get(f"{RULES}/{set_id}/export.xlsx").status_code == 200
    assert (
        client.post(f"{RULES}/{set_id}/test", data=_claim_form(), headers=HTML).status_code == 200
    )
    before = _count(db, StoredRule), _count(db, AuditLog), _count(db, RuleSetVersion)
    posts = [
        (RULES, {"region_code": "990100", "name": "x", "valid_from": "2025-01-01"}),
        (f"{RULES}/{set_id}/rules", _rule_form(rule_id="NEW1")),
        (f"{RULES}/{set_id}/rules/SEX01/toggle", {}),
        (f"{RULES}/{set_id}/rules/SEX01/delete", {}),
        (f"{RULES}/{set_id}/publish", {}),
        (f"{RULES}/{set_id}/retire", {}),
        (f"{RULES}/{set_id}/delete", {}),
        (f"{RULES}/{set_id}/import", {}),
        (KB, {"region_code": "990100", "name": "x", "valid_from": "2025-01-01"}),
        (f"{KB}/{kb_id}/restrictions", {"code": kit.PSA, "sex": "1"}),
        (f"{KB}/{kb_id}/restrictions/delete", {"code": kit.PSA}),
        (f"{KB}/{kb_id}/relations", {"kind": "exclusive", "a": kit.PSA, "b": kit.CSEC}),
        (f"{KB}/{kb_id}/relations/1", {"kind": "exclusive", "a": kit.PSA, "b": kit.CSEC}),
        (f"{KB}/{kb_id}/relations/1/delete", {}),
        (f"{KB}/{kb_id}/publish", {}),
        (f"{KB}/{kb_id}/delete", {}),
        (f"{KB}/{kb_id}/import", {}),
    ]
    for url, data in posts:
        r = client.post(url, data=data, headers=HTML, follow_redirects=False)
        assert r.status_code == 403, (url, r.status_code)
    for url in (
        f"{RULES}/{set_id}/rules/new",
        f"{RULES}/{set_id}/rules/SEX01/edit",
        f"{KB}/{kb_id}/restrictions/edit",
        f"{KB}/{kb_id}/relations/new",
    ):
        assert client.get(url, headers=HTML).status_code == 403, url
    assert (_count(db, StoredRule), _count(db, AuditLog), _count(db, RuleSetVersion)) == before
    # without VIEW_RULES: no pages at all, no menu
    login(client, "analyst")
    assert client.get(RULES, headers=HTML).status_code == 403
    assert client.get(f"{KB}/{kb_id}", headers=HTML).status_code == 403
    assert 'data-menu="supervision"' not in client.get("/", headers=HTML).text
    # a rule admin of another region does not see this region's versions
    login(client, "other_ruleadmin")
    assert client.get(f"{RULES}/{set_id}", headers=HTML).status_code == 404
    r = client.post(f"{RULES}/{set_id}/rules", data=_rule_form(rule_id="X1"), headers=HTML)
    assert r.status_code == 404


# --------------------------------------------------------------------------- knowledge


def test_knowledge_pages_restrictions_relations_publish(admin, db) -> None:  # type: ignore[no-untyped-def]
    assert "no-knowledge" in admin.get(KB, headers=HTML).text
    r = admin.post(
        KB,
        data={"region_code": "990100", "name": "知识库", "valid_from": "2025-01-01"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    kid = int(r.headers["location"].rsplit("/", 1)[1])
    page = admin.get(f"{KB}/{kid}", headers=HTML).text
    assert "no-restrictions" in page and 'data-testid="restriction-add"' in page

    # an item's restrictions through the per-kind form
    form = admin.get(f"{KB}/{kid}/restrictions/edit", headers=HTML)
    assert form.status_code == 200 and "限性别" in form.text and "疗程每自然月最多天数" in form.text
    data = {
        "code": kit.DRUG,
        "name": "演示片",
        "age_max": "14",
        "per_day": "2",
        "freq_day": "3",
        "course_month_days": "10",
        "departments": "A03、A07",
    }
    assert (
        admin.post(
            f"{KB}/{kid}/restrictions", data=data, headers=HTML, follow_redirects=False
        ).status_code
        == 303
    )
    set_scope(db, SYSTEM_SCOPE)
    stored = db.scalar(select(KnowledgeRestriction).where(KnowledgeRestriction.code == kit.DRUG))
    assert stored is not None
    assert sorted(r["kind"] for r in stored.restrictions) == [
        "age",
        "course",
        "department",
        "frequency",
        "quantity",
    ]
    # wrong input: next to the field, nothing stored
    before = _count(db, KnowledgeRestriction), _count(db, AuditLog)
    for bad, field, words in [
        ({"code": kit.PSA, "age_min": "x"}, "age_min", "最小年龄：须为整数"),
        ({"code": kit.PSA, "per_day": "-1"}, "per_day", "大于 0"),
        ({"code": "", "sex": "1"}, "code", "医保编码：不能为空"),
        (
            {"code": kit.PSA, "age_min": "30", "age_max": "10"},
            "restrictions",
            "年龄下限不能大于上限",
        ),
        ({"code": kit.PSA, "insutypes": "31"}, "restrictions", "格式不合规定"),
        ({"code": kit.DRUG, "sex": "1"}, "code", "已有使用限制"),
    ]:
        r = admin.post(f"{KB}/{kid}/restrictions", data=bad, headers=HTML)
        assert r.status_code == 422, field
        assert words in _field_error(r.text, field), (field, _field_error(r.text, field))
    assert (_count(db, KnowledgeRestriction), _count(db, AuditLog)) == before
    # edit prefilled; search; delete
    edit = admin.get(f"{KB}/{kid}/restrictions/edit?code={kit.DRUG}", headers=HTML).text
    assert 'value="14"' in edit and 'value="A03、A07"' in edit and 'value="10"' in edit
    assert (
        admin.post(
            f"{KB}/{kid}/restrictions",
            data={"code": kit.PSA, "sex": "2", "name": "前列腺特异抗原测定"},
            headers=HTML,
            follow_redirects=False,
        ).status_code
        == 303
    )
    for q, codes in [("XA", [kit.DRUG]), ("前列腺", [kit.PSA]), ("", [kit.PSA, kit.DRUG])]:
        text = admin.get(f"{KB}/{kid}?q={q}", headers=HTML | {"hx-request": "true"}).text
        assert re.findall(r'data-testid="restriction" data-code="(\w+)"', text) == codes, q
    r = admin.post(
        f"{KB}/{kid}/restrictions/delete",
        data={"code": kit.DRUG},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303 and _count(db, KnowledgeRestriction) == 1

    # relations: add, wrong input, edit, filter, delete
    new = admin.get(f"{KB}/{kid}/relations/new?kind=package", headers=HTML).text
    assert 'data-kind="package"' in new and "组成项目" in new
    part = admin.get(f"{KB}/{kid}/relations/fields?kind=requires", headers=HTML).text
    assert 'data-kind="requires"' in part and "<html" not in part
    ok = {"kind": "exclusive", "a": kit.SURG, "b": kit.ANAES, "note": "测试"}
    assert (
        admin.post(
            f"{KB}/{kid}/relations", data=ok, headers=HTML, follow_redirects=False
        ).status_code
        == 303
    )
    req = {"kind": "requires", "item": kit.ANAES, "any_of": kit.SURG}
    assert (
        admin.post(
            f"{KB}/{kid}/relations", data=req, headers=HTML, follow_redirects=False
        ).status_code
        == 303
    )
    before = _count(db, KnowledgeRelation), _count(db, AuditLog)
    for bad, field, words in [
        ({"kind": "exclusive", "a": kit.SURG, "b": ""}, "b", "项目二：不能为空"),
        ({"kind": "package", "package": "P1", "components": "C1"}, "components", "组成项目"),
        (
            {"kind": "package", "package": "P1", "components": "C1、C2", "min_components": "x"},
            "min_components",
            "须为整数",
        ),
        ({"kind": "nonsense"}, "kind", "请选择"),
        ({"kind": "exclusive", "a": kit.SURG, "b": kit.SURG}, "relation", "不能相同"),
    ]:
        r = admin.post(f"{KB}/{kid}/relations", data=bad, headers=HTML)
        assert r.status_code == 422, field
        assert words in _field_error(r.text, field), (field, _field_error(r.text, field))
    assert (_count(db, KnowledgeRelation), _count(db, AuditLog)) == before
    rel_id = db.scalar(select(KnowledgeRelation.id).where(KnowledgeRelation.kind == "exclusive"))
    edit = admin.get(f"{KB}/{kid}/relations/{rel_id}/edit", headers=HTML).text
    assert f'value="{kit.SURG}"' in edit and 'value="测试"' in edit
    r = admin.post(
        f"{KB}/{kid}/relations/{rel_id}",
        data=ok | {"b": kit.PSA},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    text = admin.get(f"{KB}/{kid}?tab=relations&kind=exclusive", headers=HTML).text
    assert len(_testids(text, "relation")) == 1 and f"{kit.SURG} 与 {kit.PSA} 不得同时收费" in text
    r = admin.post(f"{KB}/{kid}/relations/{rel_id}/delete", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and _count(db, KnowledgeRelation) == 1

    # Excel round trip, then publish: read only
    x = admin.get(f"{KB}/{kid}/export.xlsx")
    assert x.status_code == 200
    r = admin.post(
        f"{KB}/{kid}/import",
        files={"file": ("k.xlsx", x.content, XLSX)},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303 and _count(db, KnowledgeRelation) == 1
    r = admin.post(
        f"{KB}/{kid}/publish", data={"reason": "首版"}, headers=HTML, follow_redirects=False
    )
    assert r.status_code == 303
    page = admin.get(f"{KB}/{kid}", headers=HTML).text
    assert "已发布" in page
    for testid in ("restriction-add", "relation-add", "restriction-edit", "version-publish"):
        assert f'data-testid="{testid}"' not in page, testid
    r = admin.post(f"{KB}/{kid}/restrictions", data={"code": kit.PSA, "sex": "1"}, headers=HTML)
    assert r.status_code == 409 and "不能修改" in r.text
    # the published knowledge is what the rule test uses: PSA is now for women only
    set_id = _new_set(admin, based_on="empty")
    _save(admin, set_id, _rule_form())
    r = admin.post(f"{RULES}/{set_id}/test", data=_claim_form("1"), headers=HTML)
    assert re.findall(r'data-testid="finding" data-rule="(\w+)"', r.text) == ["SEX01"]
    assert "限女性" in r.text


# --------------------------------------------------------------------------- navigation


def _menus(text: str) -> dict[str, list[str]]:
    nav = text.split('data-testid="nav"', 1)[1].split("</ul>", 1)[0]
    out: dict[str, list[str]] = {}
    for key, body in re.findall(r'data-menu="(\w+)">(.*?)</li>', nav, re.S):
        out[key] = re.findall(r'class="dropdown-item[^"]*" href="[^"]+">([^<]+)<', body)
    return out


def test_navigation_menus_by_role(admin, client, db) -> None:  # type: ignore[no-untyped-def]
    menus = _menus(admin.get("/", headers=HTML).text)
    # ruleadmin: one real menu
    assert menus == {"supervision": ["审核疑点", "事前事中审核记录", "规则库", "知识库"]}
    nav = admin.get("/", headers=HTML).text.split('data-testid="nav"', 1)[1].split("</ul>", 1)[0]
    assert 'href="/catalogue">医保目录<' in nav and 'href="/hospitals">医疗机构<' in nav
    page = admin.get(RULES, headers=HTML).text
    assert re.search(r"dropdown-toggle active[^>]*>智能审核<", page)
    b.user(db, Role.BUREAU_ADMIN, region_code="990100", username="boss")
    db.commit()
    login(client, "boss")
    menus = _menus(client.get("/", headers=HTML).text)
    assert menus["settlement"] == ["结算清单", "结算清单上传/质控", "结算单", "消息中心"]
    assert menus["supervision"] == ["事前事中审核记录", "规则库", "知识库"]
    assert menus["monitor"] == ["实时监控", "地图定位", "决策分析"]
    assert menus["catalogue"] == ["待遇政策", "医保目录", "参保人员"]
    assert menus["admin"] == ["医疗机构", "用户管理", "审计日志", "应用监控"]
