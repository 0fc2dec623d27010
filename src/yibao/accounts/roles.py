"""Roles and what each may do.  Permissions are checked in services, not only in routes."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    BUREAU_ADMIN = "bureau_admin"
    BUREAU_ANALYST = "bureau_analyst"
    BUREAU_REVIEWER = "bureau_reviewer"
    RULE_ADMIN = "rule_admin"
    HOSPITAL_USER = "hospital_user"
    HIS_CLIENT = "his_client"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def is_bureau(self) -> bool:
        return self in BUREAU_ROLES

    @property
    def is_hospital(self) -> bool:
        return self in (Role.HOSPITAL_USER, Role.HIS_CLIENT)


ROLE_LABELS: dict[Role, str] = {
    Role.BUREAU_ADMIN: "医保局管理员",
    Role.BUREAU_ANALYST: "测算分析员",
    Role.BUREAU_REVIEWER: "结算审核员",
    Role.RULE_ADMIN: "规则管理员",
    Role.HOSPITAL_USER: "医院用户",
    Role.HIS_CLIENT: "HIS系统接口",
}

BUREAU_ROLES = frozenset(
    {Role.BUREAU_ADMIN, Role.BUREAU_ANALYST, Role.BUREAU_REVIEWER, Role.RULE_ADMIN}
)


class Permission(StrEnum):
    VIEW_DASHBOARD = "view_dashboard"
    VIEW_CASES = "view_cases"
    VIEW_HOSPITALS = "view_hospitals"
    MANAGE_USERS = "manage_users"
    VIEW_AUDIT_LOG = "view_audit_log"
    MEASURE = "measure"
    REVIEW_SETTLEMENT = "review_settlement"
    MANAGE_RULES = "manage_rules"
    VIEW_RULES = "view_rules"
    GROUP_CASES = "group_cases"
    SUBMIT_LISTS = "submit_lists"
    USE_HIS_API = "use_his_api"
    VIEW_POLICIES = "view_policies"
    MANAGE_POLICIES = "manage_policies"
    MANAGE_HOSPITALS = "manage_hospitals"
    VIEW_CATALOGUE = "view_catalogue"
    MANAGE_CATALOGUE = "manage_catalogue"
    VIEW_INSURED = "view_insured"
    VIEW_ID_NUMBERS = "view_id_numbers"
    REVIEW_FINDINGS = "review_findings"
    ANSWER_FINDINGS = "answer_findings"


PERMISSION_LABELS: dict[Permission, str] = {
    Permission.VIEW_DASHBOARD: "查看首页",
    Permission.VIEW_CASES: "查看结算清单",
    Permission.VIEW_HOSPITALS: "查看医疗机构",
    Permission.MANAGE_USERS: "用户管理",
    Permission.VIEW_AUDIT_LOG: "查看审计日志",
    Permission.MEASURE: "测算",
    Permission.REVIEW_SETTLEMENT: "结算审核",
    Permission.MANAGE_RULES: "规则管理",
    Permission.VIEW_RULES: "查看知识库与规则库",
    Permission.GROUP_CASES: "分组",
    Permission.SUBMIT_LISTS: "上传结算清单",
    Permission.USE_HIS_API: "HIS 接口",
    Permission.VIEW_POLICIES: "查看待遇政策",
    Permission.MANAGE_POLICIES: "维护待遇政策",
    Permission.MANAGE_HOSPITALS: "维护医疗机构",
    Permission.VIEW_CATALOGUE: "查看医保目录",
    Permission.MANAGE_CATALOGUE: "维护医保目录",
    Permission.VIEW_INSURED: "查看参保人员",
    Permission.VIEW_ID_NUMBERS: "查看完整身份证号",
    Permission.REVIEW_FINDINGS: "智能审核疑点审核（事后审核、公示、初审、复审）",
    Permission.ANSWER_FINDINGS: "智能审核疑点答复与申诉",
}

P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.BUREAU_ADMIN: frozenset(
        {
            P.VIEW_DASHBOARD,
            P.VIEW_CASES,
            P.VIEW_HOSPITALS,
            P.MANAGE_USERS,
            P.VIEW_AUDIT_LOG,
            P.GROUP_CASES,
            P.VIEW_POLICIES,
            P.MANAGE_POLICIES,
            P.MANAGE_HOSPITALS,
            P.VIEW_CATALOGUE,
            P.MANAGE_CATALOGUE,
            P.VIEW_INSURED,
            P.VIEW_ID_NUMBERS,
            P.VIEW_RULES,
        }
    ),
    Role.BUREAU_ANALYST: frozenset(
        {P.VIEW_DASHBOARD, P.VIEW_CASES, P.VIEW_HOSPITALS, P.MEASURE, P.GROUP_CASES}
        | {P.VIEW_POLICIES, P.VIEW_CATALOGUE}
    ),
    Role.BUREAU_REVIEWER: frozenset(
        {P.VIEW_DASHBOARD, P.VIEW_CASES, P.VIEW_HOSPITALS, P.REVIEW_SETTLEMENT, P.GROUP_CASES}
        | {P.VIEW_POLICIES, P.VIEW_CATALOGUE, P.VIEW_INSURED, P.VIEW_RULES, P.REVIEW_FINDINGS}
    ),
    Role.RULE_ADMIN: frozenset(
        {P.VIEW_DASHBOARD, P.VIEW_HOSPITALS, P.MANAGE_RULES, P.VIEW_RULES, P.VIEW_CATALOGUE}
        | {P.REVIEW_FINDINGS}
    ),
    Role.HOSPITAL_USER: frozenset(
        {P.VIEW_DASHBOARD, P.VIEW_CASES, P.GROUP_CASES, P.SUBMIT_LISTS, P.VIEW_CATALOGUE}
        | {P.ANSWER_FINDINGS}
    ),
    # a HIS identifies patients (1101) and must match what they show: full ID numbers
    Role.HIS_CLIENT: frozenset(
        {P.USE_HIS_API, P.SUBMIT_LISTS, P.GROUP_CASES, P.VIEW_CASES}
        | {P.VIEW_CATALOGUE, P.VIEW_ID_NUMBERS}
    ),
}


def has_permission(role: Role | str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[Role(role)]
