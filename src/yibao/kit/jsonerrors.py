"""The json module's reasons for refusing a text, in Chinese (its own text is
English): error messages name the line, the column and what is wrong there."""

from __future__ import annotations

import json

#: ``JSONDecodeError.msg`` → the reason in Chinese
REASONS = {
    "Expecting value": "此处应为一个值",
    "Expecting ',' delimiter": "此处缺少逗号（,）",
    "Expecting ':' delimiter": "此处缺少冒号（:）",
    "Expecting property name enclosed in double quotes": "字段名应以英文双引号括起",
    "Unterminated string starting at": "字符串没有结束引号",
    "Invalid control character at": "字符串中含有未转义的控制字符（如换行）",
    "Invalid \\escape": "无效的转义序列（\\ 后的字符）",
    "Invalid \\uXXXX escape": "无效的 \\u 转义（应为 4 位十六进制数）",
    "Extra data": "JSON 结束后还有多余的内容",
    "Unexpected UTF-8 BOM (decode using utf-8-sig)": "开头有字节顺序标记（BOM）",
}


def reason(exc: json.JSONDecodeError) -> str:
    """``第 L 行第 C 列：<reason>`` for a refused JSON text."""
    return f"第 {exc.lineno} 行第 {exc.colno} 列：{REASONS.get(exc.msg, '格式不正确')}"


def describe(exc: ValueError) -> str:
    """A JSON file's refusal (:func:`reason`), or that it is not UTF-8 text."""
    if isinstance(exc, json.JSONDecodeError):
        return reason(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"不是 UTF-8 编码的文本（第 {exc.start} 字节）"
    return "格式不正确"
