"""What reviewers read: the app's words in the UI language (web.language), and display names for codes.

- Page text is written in English in the templates and translated with `t("...")` (zh-CN below; a missing
  translation shows the English text).
- Finding categories, severities and statuses have display names per language; a call's categories and rules
  are shown in the language of the rule pack that scored it (cn_collection: Chinese, us_fdcpa: English).
- Rules are named by their pack's description; agencies by their name in the settings.
- The categories a reviewer may choose for a missed finding are the pack's own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from callqc.settings import CONFIG_DIR, Settings

log = logging.getLogger(__name__)

ZH = "zh-CN"
EN = "en"

UI_ZH: dict[str, str] = {
    "Queue": "质检队列", "Appeals": "申诉", "Dashboard": "看板", "Sign out": "退出", "Sign in": "登录",
    "Username": "用户名", "Password": "密码", "Review queue": "复核队列", "Flagged calls": "待复核通话",
    "all": "全部", "From": "开始日期", "To": "结束日期", "Agency": "催收机构", "Agent": "坐席",
    "Rule": "规则", "Category": "违规类别", "Status": "状态", "Filter": "筛选", "Call": "通话",
    "Started": "通话时间", "Severity": "严重程度", "Score": "得分", "Emotion": "客户情绪", "Priority": "优先级",
    "Findings": "发现", "Categories": "违规类别", "open": "待处理", "No flagged calls match.": "没有符合条件的通话。",
    "previous": "上一页", "next": "下一页", "page {page} of {pages}": "第 {page} 页，共 {pages} 页",
    "fatal": "致命", "Length": "时长", "Callee": "被叫号码", "Relation": "被叫关系", "Account": "账户",
    "Customer": "客户情绪", "Review": "复核状态", "Numbers shown in clear (audited).": "号码已明文显示（已记录审计）。",
    "Mask again": "重新遮蔽", "reason to unmask": "明文查看原因", "Unmask numbers": "明文查看号码",
    "click to seek": "点击跳转", "at": "于", "Confirm": "确认", "Reject": "驳回", "reason": "理由",
    "Appeal": "申诉", "Appeal #": "申诉 #", "by": "提出人", "why this finding is wrong": "申诉理由",
    "No findings.": "没有发现。", "Add a missed finding": "补充漏检问题",
    "Select transcript lines with the mouse, or mark the span from the player.":
        "用鼠标选中转写文本，或在播放器上标记起止时间。",
    "Start s": "开始（秒）", "End s": "结束（秒）", "= now": "= 当前", "Speaker": "说话人",
    "Evidence": "证据文本", "Reason": "理由", "Add finding": "添加", "Transcript": "转写文本",
    "No transcript.": "没有转写文本。", "Decision history": "复核记录", "finding #": "发现 #",
    "No decisions yet.": "暂无复核记录。", "note on this call": "本通话备注", "Add note": "添加备注",
    "Finding": "发现", "Appellant": "申诉人", "resolution": "处理意见", "Uphold finding": "维持",
    "Overturn": "撤销", "No appeals.": "没有申诉。", "Back": "返回", "Not allowed": "无权访问",
    "Your role does not allow this.": "您的角色无权执行此操作。", "Not found": "未找到",
    "No such call, or not one you may see.": "没有这个通话，或您无权查看。", "Not saved": "未保存",
    "Bad request": "请求无效", "Wrong username or password, or the account is disabled.": "用户名或密码错误，或账户已停用。",
    "Too many failed sign-ins. Try again in {seconds} s.": "登录失败次数过多，请 {seconds} 秒后再试。",
    "Your session has ended. Please sign in again.": "会话已结束，请重新登录。",
    "rule": "规则", "model": "模型", "reviewer": "复核员", "agent": "坐席", "customer": "客户", "any": "双方",
    "Score (fatal)": "得分（致命）", "confirm": "确认", "reject": "驳回", "add": "补充", "note": "备注",
}

SEVERITIES = {ZH: {"info": "提示", "minor": "轻微", "major": "严重", "critical": "致命"},
              EN: {"info": "info", "minor": "minor", "major": "major", "critical": "critical"}}
STATUSES = {  # review status of a call, status of a finding, of an appeal
    ZH: {"pending": "待复核", "in_review": "复核中", "done": "已完成", "open": "待处理", "confirmed": "已确认",
         "rejected": "已驳回", "upheld": "已维持", "overturned": "已撤销"},
    EN: {"pending": "pending", "in_review": "in review", "done": "done", "open": "open", "confirmed": "confirmed",
         "rejected": "rejected", "upheld": "upheld", "overturned": "overturned"},
}
EMOTIONS = {ZH: {"calm": "平静", "angry": "愤怒", "distressed": "焦虑"},
            EN: {"calm": "calm", "angry": "angry", "distressed": "distressed"}}
# Transcript-quality flags of a segment (asr.transcribe guards), as the reviewer sees them: what to listen to.
SEGMENT_FLAGS = {
    ZH: {"low_confidence": "识别置信度低", "unsure": "可能不是语音", "repetition_cut": "重复已删减",
         "phantom_removed": "已删除幻听文本", "high_compression": "文本重复度高"},
    EN: {"low_confidence": "low ASR confidence", "unsure": "may not be speech", "repetition_cut": "repeats cut",
         "phantom_removed": "phantom text removed", "high_compression": "repetitive text"},
}
RELATIONS = {ZH: {"debtor": "债务人本人", "guarantor": "担保人", "third_party": "第三人", "unknown": "未知"},
             EN: {"debtor": "debtor", "guarantor": "guarantor", "third_party": "third party", "unknown": "unknown"}}
ROLES = {ZH: {"reviewer": "复核员", "manager": "主管", "admin": "管理员", "agency_viewer": "机构查看"},
         EN: {"reviewer": "reviewer", "manager": "manager", "admin": "admin", "agency_viewer": "agency viewer"}}
# English display names of the finding categories; the Chinese ones come from configs/attribution.yaml
# (finding_categories), which the reports use too.
CATEGORIES_EN = {
    "threat": "Threat", "insult": "Insult", "impersonation": "Impersonation",
    "false_consequence": "False consequence", "pressure": "Pressure",
    "third_party_disclosure": "Third-party disclosure", "third_party_collection": "Third-party collection",
    "calling_hours": "Calling hours", "call_frequency": "Call frequency",
    "missing_self_identification": "No self-identification", "pii_disclosure": "Personal data disclosed",
    "attorney_represented": "Attorney represented", "cease_ignored": "Cease request ignored",
    "mini_miranda": "Mini-Miranda missing", "agitation": "Agitation", "dead_air": "Dead air",
    "overtalk": "Overtalk", "speech_rate": "Speech rate",
}


@dataclass(frozen=True)
class PackLabels:
    """What the web app needs of one rule pack: its language, categories and rule names."""

    language: str                       # zh-CN | en
    categories: tuple[str, ...]         # the pack's reported categories, in pack order
    rules: dict[str, str] = field(default_factory=dict)  # rule id -> description


def _pack_labels(name: str) -> PackLabels | None:
    from qc.rules.pack import RulePackError, load_pack

    try:
        pack = load_pack(name)
    except RulePackError as exc:
        log.warning("rule pack %s: %s (its labels show as codes)", name, exc)
        return None
    reported = [rule for rule in pack.rules if rule.config.report]
    return PackLabels(language=ZH if pack.language == "zh" else EN,
                      categories=tuple(dict.fromkeys(rule.config.category for rule in reported)),
                      rules={rule.id: rule.config.description or rule.id for rule in reported})


def _categories_zh(path: Path = CONFIG_DIR / "attribution.yaml") -> dict[str, str]:
    """finding_categories of configs/attribution.yaml (read here, not through qc.attribution, whose package
    imports pandas: the web app loads that only for the dashboard)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        log.warning("%s: cannot read the category names (%s); categories show as codes", path, exc)
        return {}
    names = data.get("finding_categories") if isinstance(data, dict) else None
    if not isinstance(names, dict):
        log.warning("%s: finding_categories is not a mapping; categories show as codes", path)
        return {}
    return {str(code): str(name) for code, name in names.items()}


def _zone_text(offset: timedelta | None) -> str:
    minutes = int((offset or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


class Labels:
    """Display names for one app (settings and packs are read once, at start)."""

    def __init__(self, settings: Settings) -> None:
        self.language = settings.web.language
        self.default_pack = settings.qc.rule_pack
        self.zone = ZoneInfo(settings.qc.timezone)
        self.agency_names = {code: agency.name for code, agency in settings.agencies.items()}
        names = {settings.qc.rule_pack} | {settings.rule_pack_for(code) for code in settings.agencies}
        self.packs = {name: labels for name in sorted(names) if (labels := _pack_labels(name)) is not None}
        self.categories_zh = _categories_zh()

    # ---- the page's own words --------------------------------------------------------------------------
    def t(self, text: str, **values: object) -> str:
        translated = UI_ZH.get(text, text) if self.language == ZH else text
        return translated.format(**values) if values else translated

    def _ui(self, table: dict[str, dict[str, str]], code: str | None) -> str:
        return table[self.language].get(code or "", code or "")

    def severity(self, code: str | None) -> str:
        return self._ui(SEVERITIES, code)

    def status(self, code: str | None) -> str:
        return self._ui(STATUSES, code)

    def emotion(self, code: str | None) -> str:
        return self._ui(EMOTIONS, code)

    def role(self, code: str | None) -> str:
        return self._ui(ROLES, code)

    def relation(self, code: str | None) -> str:
        return self._ui(RELATIONS, code)

    def segment_flags(self, codes) -> list[str]:
        """The transcript-quality flags a reviewer should know about (listen before trusting the words)."""
        return [self._ui(SEGMENT_FLAGS, code) for code in codes or () if code in SEGMENT_FLAGS[EN]]

    # ---- codes of the data -----------------------------------------------------------------------------
    def pack_language(self, pack: str | None) -> str:
        labels = self.packs.get(pack or self.default_pack) or self.packs.get(self.default_pack)
        return labels.language if labels else self.language

    def category(self, code: str | None, pack: str | None = None) -> str:
        if not code:
            return ""
        if self.pack_language(pack) == ZH:
            return self.categories_zh.get(code, code)
        return CATEGORIES_EN.get(code, code.replace("_", " ").capitalize())

    def rule(self, rule_id: str | None, pack: str | None = None) -> str:
        labels = self.packs.get(pack or self.default_pack)
        return (labels.rules.get(rule_id or "") if labels else None) or (rule_id or "")

    def agency(self, code_or_name: str | None) -> str:
        return self.agency_names.get(code_or_name or "", code_or_name or "")

    def pack_categories(self, pack: str | None) -> tuple[str, ...]:
        labels = self.packs.get(pack or self.default_pack) or self.packs.get(self.default_pack)
        return labels.categories if labels else ()

    # ---- times: the callee's local time, with its UTC offset ------------------------------------------
    def local_time(self, value: datetime | None, offset_min: int | None = None, seconds: bool = False) -> str:
        """`value` (UTC) in the callee's zone: the call's own UTC offset when known, else the QC timezone."""
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        zone = timezone(timedelta(minutes=offset_min)) if offset_min is not None else self.zone
        local = value.astimezone(zone)
        return f"{local:%Y-%m-%d %H:%M{':%S' if seconds else ''}} {_zone_text(local.utcoffset())}"
