"""The WSDL of the gateway's SOAP binding (SOAP 1.1, document/literal, one operation
``callService``; ADR 0015, "SOAP binding").  The request's elements are the envelope's
fields, read from :class:`~.envelope.Envelope`, so the WSDL never lags behind it.

Every request element is optional in the schema: the gateway, not the client's stub,
says what is missing, in Chinese and naming the field (infcode −1), as on the JSON
endpoint.
"""

from __future__ import annotations

from functools import lru_cache

from yibao.engines.exchange.envelope import Envelope
from yibao.engines.exchange.soap import ACTION, NAMESPACE, OPERATION, WHOLE, xml_text

SERVICE = "rsfComIfsService"
#: callServiceResponse's elements: name → (XML Schema type, optional, documentation)
RESPONSE_ELEMENTS = {
    "infcode": ("xsd:int", False, "交易状态码：0 成功，-1 失败（err_msg 说明原因，未做任何修改）"),
    "inf_refmsgid": (
        "xsd:string",
        False,
        "接收方报文ID：医保区划 6 位 + yyyyMMddHHmmss 14 位 + 顺序号 10 位",
    ),
    "refmsg_time": ("xsd:string", False, "接收报文时间 yyyyMMddHHmmssSSS"),
    "respond_time": ("xsd:string", False, "响应报文时间 yyyyMMddHHmmssSSS"),
    "err_msg": ("xsd:string", True, "错误信息（中文，指明字段；失败时才有）"),
    "warn_msg": ("xsd:string", True, "警告信息：报文不完全符合规范但已按可确定的含义读取的地方"),
    "output": ("xsd:string", True, "交易输出（JSON 文本；失败时没有）"),
    WHOLE: ("xsd:string", False, "整条应答报文（JSON 文本，含以上各字段）"),
}
INPUT_DOC = '交易输入：各交易的 input 节点的 JSON 文本，如 9001 {"signIn": {…}}'
WHOLE_DOC = "整条报文：含 infno、msgid、input 等字段的 JSON 文本（与逐个字段二选一）"


def _element(name: str, kind: str, optional: bool, doc: str) -> str:
    occurs = ' minOccurs="0"' if optional else ""
    return (
        f'<xsd:element name="{name}" type="{kind}"{occurs}><xsd:annotation>'
        f"<xsd:documentation>{xml_text(doc)}</xsd:documentation></xsd:annotation></xsd:element>"
    )


def _request_elements() -> str:
    fields = [
        _element(name, "xsd:string", True, field.description or name)
        for name, field in Envelope.model_fields.items()
    ]
    fields.append(_element("input", "xsd:string", True, INPUT_DOC))
    fields.append(_element(WHOLE, "xsd:string", True, WHOLE_DOC))
    return "".join(fields)


def _response_elements() -> str:
    return "".join(
        _element(name, kind, optional, doc)
        for name, (kind, optional, doc) in RESPONSE_ELEMENTS.items()
    )


@lru_cache(maxsize=16)
def wsdl(address: str) -> bytes:
    """The WSDL with its service at ``address`` (the URL the WSDL was asked for)."""
    op = OPERATION
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="{SERVICE}" targetNamespace="{NAMESPACE}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="{NAMESPACE}">
  <wsdl:documentation>医保交易接口（SOAP 1.1）：与 JSON 交易接口相同的交易与应答，按 infno 办理；\
同一机构同一 msgid 只办理一次。请求头 Authorization: Bearer 接口令牌。</wsdl:documentation>
  <wsdl:types>
    <xsd:schema targetNamespace="{NAMESPACE}" elementFormDefault="qualified">
      <xsd:element name="{op}"><xsd:complexType><xsd:sequence>{_request_elements()}\
</xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="{op}Response"><xsd:complexType><xsd:sequence>{_response_elements()}\
</xsd:sequence></xsd:complexType></xsd:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="{op}Request"><wsdl:part name="parameters" element="tns:{op}"/></wsdl:message>
  <wsdl:message name="{op}Response">\
<wsdl:part name="parameters" element="tns:{op}Response"/></wsdl:message>
  <wsdl:portType name="{SERVICE}PortType">
    <wsdl:operation name="{op}">
      <wsdl:input message="tns:{op}Request"/>
      <wsdl:output message="tns:{op}Response"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="{SERVICE}SoapBinding" type="tns:{SERVICE}PortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="{op}">
      <soap:operation soapAction="{ACTION}" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="{SERVICE}">
    <wsdl:port name="{SERVICE}Port" binding="tns:{SERVICE}SoapBinding">
      <soap:address location="{xml_text(address).replace('"', "&quot;")}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
""".encode()
