"""The context an agent turn is judged in: who the callee is, and what the customer said just before.

"她欠了两万多" is a violation said to her colleague and ordinary talk said to her. The sidecar's
`callee_relation` says who was called; when it says `unknown` (or nothing), the relation is inferred from the
call itself, turn by turn, from what has been said up to the agent's turn:

- the callee says who they are: 「我是他爱人」「我是她同事」「不是，我是他妈妈」「I'm his wife」 → third_party;
- the agent asks 「您是他爱人吧」 and the callee does not deny it in the next turn → third_party;
- the callee confirms they are the debtor: 「对，我是」「是我」「speaking」 → debtor.
The relation is a fact about the callee: a debt told to a relative is a disclosure even when the relative says
who they are only afterwards (the agent should have checked identity first).

A declared debtor / guarantor / third_party is kept as declared (the sidecar is the system of record).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qc.domain import CalleeRelation, Segment, Transcript

_KIN = (r"(?:爱人|老婆|老公|妻子|丈夫|媳妇|对象|妈妈|妈|母亲|爸爸|爸|父亲|姐姐|姐|哥哥|哥|弟弟|弟|妹妹|妹|儿子|女儿|"
        r"同事|朋友|领导|老板|室友|邻居|亲戚|家属|家人|表哥|表姐|表弟|表妹|舅舅|叔叔|阿姨|房东|同学|紧急联系人|"
        r"爷爷|奶奶|外公|外婆|姥姥|姥爷|姑姑|姨妈|婶婶|舅妈|侄子|侄女|外甥|嫂子|姐夫|妹夫|岳父|岳母|公公|婆婆|儿媳|女婿|"
        r"女朋友|男朋友|未婚妻|未婚夫|合伙人|上司|主管|经理|保姆)")
_THIRD_PARTY_SAYS = re.compile(
    rf"我是(?:他|她)(?:的)?{_KIN}|(?:^|[，,。\s])不是[，,]?我是|我不是(?:他|她)|(?:他|她)(?:不在|出去了|不在家)|"
    rf"\b(?:i'?m|i am|this is) (?:his|her) (?:wife|husband|mother|mom|father|dad|sister|brother|son|daughter|"
    rf"coworker|colleague|friend|boss|roommate|neighbor|landlord|grandpa|grandma|grandfather|grandmother|aunt|uncle|"
    rf"cousin|nephew|niece|partner|business partner|girlfriend|boyfriend|fianc[eé]e?|stepmother|stepfather|stepmom|"
    rf"stepdad|mother-in-law|father-in-law|sister-in-law|brother-in-law|employer|manager|supervisor|tenant|"
    rf"caretaker|assistant|secretary|ex-wife|ex-husband|ex)\b|\b(?:he|she)(?:'s| is) not (?:here|home|available)\b",
    re.IGNORECASE)
_AGENT_ASKS_THIRD_PARTY = re.compile(
    rf"(?:你|您)(?:是|就是)(?:他|她)(?:的)?{_KIN}|\byou(?:'re| are) (?:his|her) \w+", re.IGNORECASE)
_DENIAL = re.compile(r"不是|没有|不认识|\bno\b|\bnot\b", re.IGNORECASE)
_SELF_SAYS = re.compile(r"我(?:就)?是[^，,。？?]{0,6}本人|是我本人|\bthis is (?:he|she|him|her) speaking\b", re.IGNORECASE)
_DEBTOR_SAYS = re.compile(r"^(?:嗯|对|是|喂)?[，,。\s]*(?:对[，,]?)?(?:是我|我是|我就是|就是我|本人)|(?:是|就是)我本人|"
                          r"\b(?:speaking|this is (?:she|he|him|her))\b", re.IGNORECASE)


_AFFIRMATION = re.compile(r"^\s*(?:对|是的|是啊|没错|就是|当然|嗯[，,]?对|yes|yeah|yep|that'?s right|correct|exactly)"
                          r"(?:$|[\s，,。.!！])", re.IGNORECASE)
SHORT_ANSWER_CHARS = 12  # a longer answer says what it asserts itself
SHORT_ANSWER_WORDS = 6
_QUESTION = re.compile(r"[？?]\s*$|吗\s*[。]?\s*$|是不是|要不要|会不会")


@dataclass(frozen=True)
class TurnContext:
    """What an agent turn is judged with: the callee relation, and the customer's turn just before it."""

    relation: CalleeRelation
    previous_customer_text: str = ""

    def texts(self, agent_text: str) -> list[str]:
        """What the model reads for the turn: the agent's words; and when a short answer affirms the customer's
        question (「你们是法院的？」「对。」) also the question with the answer, since that is what was asserted."""
        texts = [agent_text]
        question = self.previous_customer_text.strip()
        short = len(agent_text.split()) <= SHORT_ANSWER_WORDS if agent_text.isascii() else len(agent_text) <= SHORT_ANSWER_CHARS
        if short and question and _AFFIRMATION.search(agent_text) and _QUESTION.search(question):
            texts.append(f"{question} {agent_text}")
        return texts


def _inferred(segments: list[Segment]) -> CalleeRelation:
    relation: CalleeRelation = "unknown"
    for index, segment in enumerate(segments):
        text = segment.text.strip()
        if segment.speaker == "customer":
            if _THIRD_PARTY_SAYS.search(text):
                return "third_party"
            if relation == "unknown" and (_SELF_SAYS.search(text)
                                          or (_DEBTOR_SAYS.search(text) and not _DENIAL.search(text[:4]))):
                relation = "debtor"
        elif segment.speaker == "agent" and _AGENT_ASKS_THIRD_PARTY.search(text):
            reply = next((s.text for s in segments[index + 1:] if s.speaker == "customer"), None)
            if reply is not None and not _DENIAL.search(reply[:6]):
                return "third_party"
    return relation


def infer_callee_relation(transcript: Transcript, declared: str | None = None) -> CalleeRelation:
    """The callee relation for the whole call: the declared one unless it is unknown, else inferred."""
    if declared in ("debtor", "guarantor", "third_party"):
        return declared  # type: ignore[return-value]
    return _inferred(list(transcript.segments))


def turn_contexts(transcript: Transcript, declared: str | None = None) -> dict[int, TurnContext]:
    """Per agent segment id: the callee relation (declared, else inferred from the whole call: a disclosure to a
    relative is one even when the relative says who they are only afterwards — the agent should have checked
    first) and the preceding customer turn."""
    relation = infer_callee_relation(transcript, declared)
    contexts: dict[int, TurnContext] = {}
    previous_customer = ""
    for segment in transcript.segments:
        if segment.speaker == "customer":
            previous_customer = segment.text
        elif segment.speaker == "agent":
            contexts[segment.id] = TurnContext(relation, previous_customer)
    return contexts
