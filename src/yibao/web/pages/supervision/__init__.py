"""智能审核 pages (rule administrators, ADR 0021): ``rules`` the rule base (规则库),
``rule_test`` testing a version on a sample claim, ``knowledge`` the knowledge
base (知识库); ``rule_form`` and ``claim_form`` read their
forms, ``knowledge_form`` the restriction and relation forms."""

from fastapi import APIRouter

from yibao.web.pages.supervision import knowledge, rule_test, rules

router = APIRouter()
for module in (rules, rule_test, knowledge):
    router.include_router(module.router)
