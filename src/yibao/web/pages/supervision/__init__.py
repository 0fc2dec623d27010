"""智能审核 pages (rule administrators, ADR 0021): ``rules`` the rule base (规则库),
``rule_test`` testing a version on a sample claim, ``knowledge`` the knowledge
base (知识库), ``realtime`` the stored real-time audits (事前事中审核记录);
``rule_form`` and ``claim_form`` read their forms, ``knowledge_form`` the restriction
and relation forms."""

from fastapi import APIRouter

from yibao.web.pages.supervision import knowledge, realtime, rule_test, rules

router = APIRouter()
for module in (rules, rule_test, knowledge, realtime):
    router.include_router(module.router)
