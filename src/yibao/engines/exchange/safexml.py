"""XML read safely, for the gateway's SOAP binding (ADR 0015, "SOAP binding").

The body's size is bounded before it gets here (:mod:`yibao.api.limits`).  Then:

* no document type declaration at all (``<!DOCTYPE``): no DTD, so no entity
  declarations, no entity expansion (billion laughs), no external entities
  (``file:///etc/passwd``) and nothing fetched from anywhere (defusedxml refuses each
  of these on its own as well);
* at most :data:`MAX_XML_DEPTH` levels and :data:`MAX_XML_ELEMENTS` elements, counted
  while parsing, so a hostile body stops at the first element too many;
* UTF-8 (with or without a byte-order mark), UTF-16, ASCII and Latin-1 as expat reads
  them, and GBK / GB2312 / GB18030 when the XML declaration names one (older HIS
  systems write them); any other encoding is refused.

Whatever cannot be read is a :class:`~.lenient.Refused` whose message is Chinese first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.parsers.expat import errors as expat_errors

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

from yibao.engines.exchange.lenient import Refused

#: the deepest nesting a SOAP request may have (callService's fields are at level 4)
MAX_XML_DEPTH = 32
#: the most elements a SOAP request may have (callService has about twenty)
MAX_XML_ELEMENTS = 1000
#: encodings expat cannot read that an XML declaration may name: read as GB18030
GB_ENCODINGS = frozenset({"gbk", "gb2312", "gb18030", "cp936"})
_DECLARED = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")

#: expat's error → what a HIS developer reads (expat's own words follow in brackets)
_EXPAT_TEXT = {
    expat_errors.XML_ERROR_NO_ELEMENTS: "没有元素（报文为空或不完整）",
    expat_errors.XML_ERROR_SYNTAX: "语法错误",
    expat_errors.XML_ERROR_INVALID_TOKEN: "格式不正确（含有无效的字符或记号）",
    expat_errors.XML_ERROR_UNCLOSED_TOKEN: "报文不完整",
    expat_errors.XML_ERROR_TAG_MISMATCH: "开始标签与结束标签不匹配",
    expat_errors.XML_ERROR_JUNK_AFTER_DOC_ELEMENT: "根元素之后还有内容",
    expat_errors.XML_ERROR_UNDEFINED_ENTITY: "引用了未定义的实体",
    expat_errors.XML_ERROR_BAD_CHAR_REF: "字符引用指向 XML 不允许的字符",
    expat_errors.XML_ERROR_UNBOUND_PREFIX: "使用了未声明的命名空间前缀",
    expat_errors.XML_ERROR_INCORRECT_ENCODING: "内容与声明的字符编码不符",
    expat_errors.XML_ERROR_UNKNOWN_ENCODING: "不支持声明的字符编码",
}
REFUSED_DTD = "请求体含有文档类型定义（DOCTYPE），出于安全原因不予处理：SOAP 报文不能带 DTD"
REFUSED_ENTITY = "请求体含有实体声明（ENTITY），出于安全原因不予处理"
REFUSED_EXTERNAL = "请求体引用了外部实体或外部文件，出于安全原因不予处理"


class _Bounded(ET.TreeBuilder):
    """A tree builder that stops the parse at the first element too deep or too many."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.elements = 0

    def start(self, tag: Any, attrs: Any) -> ET.Element:
        self.depth += 1
        self.elements += 1
        if self.depth > MAX_XML_DEPTH:
            raise Refused(None, f"请求体 XML 嵌套超过 {MAX_XML_DEPTH} 层，不予处理")
        if self.elements > MAX_XML_ELEMENTS:
            raise Refused(None, f"请求体 XML 元素超过 {MAX_XML_ELEMENTS} 个，不予处理")
        return super().start(tag, attrs)

    def end(self, tag: Any) -> ET.Element:
        self.depth -= 1
        return super().end(tag)


def _decoded(raw: bytes) -> bytes | str:
    """The body as expat gets it: bytes, or text when it declares a GB encoding."""
    declared = _DECLARED.match(raw[:200])
    if declared is None or declared.group(1).decode().lower() not in GB_ENCODINGS:
        return raw
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise Refused(
            None, f"请求体声明为 {declared.group(1).decode()} 编码，但第 {exc.start} 字节不是该编码"
        ) from None


def parse_xml(raw: bytes) -> ET.Element:
    """The root element of the XML document ``raw``; raises :class:`Refused` for a
    body that is empty, not well-formed, declares a DTD or entities, refers to
    anything external, or is nested too deeply or has too many elements."""
    if not raw.strip():
        raise Refused(None, "请求体为空：应为 SOAP 1.1 报文（XML）")
    parser = DefusedXMLParser(
        target=_Bounded(), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(_decoded(raw))
        root = parser.close()
    except DTDForbidden:
        raise Refused(None, REFUSED_DTD) from None
    except EntitiesForbidden:
        raise Refused(None, REFUSED_ENTITY) from None
    except ExternalReferenceForbidden:
        raise Refused(None, REFUSED_EXTERNAL) from None
    except ET.ParseError as exc:
        raise Refused(None, _syntax(exc)) from None
    except ValueError:  # "multi-byte encodings are not supported": Big5, Shift_JIS …
        raise Refused(None, "请求体的字符编码不受支持，请以 UTF-8（或 GBK）发送") from None
    if not isinstance(root, ET.Element):
        raise Refused(None, "请求体不是有效的 XML")
    return root


def _syntax(exc: ET.ParseError) -> str:
    line, column = getattr(exc, "position", (0, 0))
    words = expat_errors.messages.get(getattr(exc, "code", 0), "") or str(exc)
    problem = _EXPAT_TEXT.get(words, "格式不正确")
    return f"请求体不是有效的 XML：第 {line} 行第 {column + 1} 列，{problem}（{words}）"


def split_tag(tag: str) -> tuple[str, str]:
    """``{namespace}local`` → (namespace, local); no namespace → ("", local)."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag
