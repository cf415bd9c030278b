"""Interface words, one table per language: English (``"en"``) and Korean (``"ko"``).

Every word a picture or a summary shows to a reader (legend entries, "Converted",
"leak #1", row titles, figure names) comes from :data:`WORDS`; user text (names of
stages, touchpoints, outcomes) is never translated. A missing Korean entry falls back
to English, so a new word can be added in one language first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from journeygraph.errors import RenderError

__all__ = ["LANGS", "WORDS", "Lang", "check_lang", "word"]

Lang = Literal["en", "ko"]
#: The languages shipped.
LANGS: Final[tuple[str, ...]] = ("en", "ko")

_EN: Final[dict[str, str]] = {
    # headline figures
    "conversion": "Conversion {value}",
    "churn": "churn {value}",
    "competitor": "competitors {value}",
    "steps": "{value} moves per journey",
    "hours": "journey time {value}",
    "of_entrants": "of entering customers",
    "persona": "Persona: {name}",
    "current_vs_future": "{name}: current vs future",
    "renamed_map": "{before} → {after}",
    # diagram
    "converted": "Converted",
    "lost_heading": "Lost",
    "legend": "Legend",
    "start_here": "▸ {value} start here",
    "visits": "{value} visits per customer",
    "leak_rank": "leak #{rank}",
    "switch_rank": "switching #{rank}",
    "lost_stub": "−{value} lost",
    "to_competitor": "{value} → {name}",
    "no_touchpoints": "(no touchpoints)",
    "new": "NEW",
    "removed": "REMOVED",
    "changed": "CHANGED",
    "new_short": "+",
    "removed_short": "−",
    "changed_short": "~",
    "change_rank": "change #{rank}",
    "renamed_from": "renamed from {old}",
    "field_change": "{field} {before} → {after}",
    "was": "was {value}",
    "new_move": "new {value}",
    "leak_change": "leak {before} → {after}",
    "flow_change": "{source} → {target}: {before} → {after}",
    "leak_callout": "leak at {name}: {before} → {after}",
    "largest_changes": "Largest changes",
    "legend_forward": "forward / within a stage",
    "legend_skip": "skips a stage",
    "legend_backtrack": "back to an earlier stage",
    "legend_conversion": "into conversion",
    "legend_churn": "lost (churn)",
    "legend_competitor": "lost to a competitor",
    "legend_a_competitor": "a competitor",
    "legend_added": "added in the future map",
    "legend_removed": "removed in the future map",
    "legend_changed": "changed",
    "width_probability": "line width = share of customers taking a move",
    "width_flow": "line width = customers per 100 entering",
    "loss_probability": "−x% lost: share leaving that touchpoint",
    "loss_flow": "−x% lost: share of all entering customers",
    "hidden_moves": "{count} weaker moves hidden (below {value})",
    "hidden_touchpoints": "{count} less-visited touchpoints hidden",
    "slide_hides": "slide view: weaker moves and details hidden",
    "start": "start",
    # field names of changes
    "field_id": "id",
    "field_name": "name",
    "field_stage": "stage",
    "field_channel": "channel",
    "field_owner": "owner",
    "field_sentiment": "sentiment",
    "field_pains": "pains",
    "field_goals": "goals",
    "field_questions": "questions",
    "field_notes": "notes",
    # canvas
    "row_doing": "Doing",
    "row_doing_hint": "touchpoint, channel, owner; edge colour = sentiment",
    "row_thinking": "Thinking",
    "row_thinking_hint": "• goals  “questions”",
    "row_feeling": "Feeling",
    "row_feeling_hint": "sentiment per touchpoint",
    "row_pains": "Pains",
    "row_pains_hint": "where it hurts",
    "row_leaks": "Leaks",
    "row_leaks_hint": "customers lost to churn here",
    "row_switching": "Switching",
    "row_switching_hint": "customers lost to a competitor",
    "goals": "Goals",
    "pains": "Pains",
    "channel": "channel: ",
    "owner": "owner: ",
    "top_leak": "TOP LEAK #{rank}",
    "of_customers": "{value} of customers",
    "of_all_churn": "{value} of all churn",
    "exit_rate": "exit rate {value} per visit",
    "no_churn_here": "no churn from here",
    "no_switching_here": "no switching from here",
    "no_stage_touchpoints": "no touchpoints in this stage",
    "new_in_future": "NEW in the future map",
    "removed_in_future": "REMOVED in the future map",
    "changed_in_future": "CHANGED in the future map",
    "resolved": "✓ resolved: ",
    "more": "+{count} more",
    "to_name": "{value} to ",
    "positive": "positive (above +{value})",
    "neutral": "neutral (−{value} … +{value})",
    "negative": "negative (below −{value})",
    "no_sentiment": "no sentiment",
    "current_future_curves": "current map (dashed, hollow points) · future map (solid)",
    "canvas_summary": "{touchpoints} touchpoints in {stages} stages · average sentiment {value}",
    "canvas_missing": "No sentiment for {count} touchpoint(s), left as a gap in the curve: {names}",
    "canvas_flows_note": "Leak and switching flows are the expected share of all entering "
    "customers who leave to churn / a competitor at each touchpoint (absorbing-chain analysis)",
    "compare_title": "Current vs future · {name}",
    "current_map": "Current map: {name}",
    "compare_counts": "{added} touchpoint(s) added, {removed} removed, {changed} changed · "
    "average sentiment {before} now → {after} in the future map",
    "before_after_rows": "before → after",
    "slide_canvas_hides": "slide view: goals, questions, pains and owners are on the full canvas",
    # MapDiff.summary
    "s_no_common": "the maps have no touchpoints in common: only totals are comparable",
    "s_touchpoints_added": "touchpoints added",
    "s_touchpoints_removed": "touchpoints removed",
    "s_stages_added": "stages added",
    "s_stages_removed": "stages removed",
    "s_outcomes_added": "outcomes added",
    "s_outcomes_removed": "outcomes removed",
    "s_touchpoints_changed": "touchpoints changed",
    "s_and_more": " and {count} more",
    "s_moves": "moves added {added}, removed {removed}, reweighted {reweighted} "
    "({big} by 1 pt or more)",
    "s_reordered": "stage order changed",
    "s_no_change": "no structural change",
    "s_conversion": "conversion",
    "s_churn": "churn",
    "s_competitor": "lost to competitors",
    "s_steps": "expected moves per journey {before} -> {after}",
    "s_hours": "expected journey time {before} -> {after}",
    "s_largest_leak": "largest leak {name}: {before} -> {after} of entrants",
    "s_leak_gone": "largest leak {name} ({before} of entrants) is gone",
    "s_leak_changes": "biggest leak changes: ",
    "s_pts": "pts",
}

_KO: Final[dict[str, str]] = {
    "conversion": "전환 {value}",
    "churn": "이탈 {value}",
    "competitor": "경쟁사 {value}",
    "steps": "여정당 이동 {value}회",
    "hours": "여정 시간 {value}",
    "of_entrants": "(유입 고객 기준)",
    "persona": "페르소나: {name}",
    "current_vs_future": "{name}: 현재 vs 미래",
    "converted": "전환",
    "lost_heading": "이탈",
    "legend": "범례",
    "start_here": "▸ {value} 여기서 시작",
    "visits": "고객당 방문 {value}회",
    "leak_rank": "이탈 지점 #{rank}",
    "switch_rank": "경쟁사 전환 #{rank}",
    "lost_stub": "−{value} 이탈",
    "to_competitor": "{value} → {name}",
    "no_touchpoints": "(터치포인트 없음)",
    "new": "신규",
    "removed": "삭제",
    "changed": "변경",
    "new_short": "+신규",
    "removed_short": "−삭제",
    "changed_short": "~변경",
    "change_rank": "변화 #{rank}",
    "renamed_from": "이전 이름 {old}",
    "was": "이전 {value}",
    "new_move": "신규 {value}",
    "leak_change": "이탈 {before} → {after}",
    "leak_callout": "{name} 이탈: {before} → {after}",
    "largest_changes": "가장 큰 변화",
    "legend_forward": "다음 단계 / 같은 단계 안 이동",
    "legend_skip": "단계 건너뛰기",
    "legend_backtrack": "이전 단계로 되돌아감",
    "legend_conversion": "전환으로",
    "legend_churn": "이탈",
    "legend_competitor": "경쟁사로 이탈",
    "legend_a_competitor": "경쟁사",
    "legend_added": "미래 맵에서 추가",
    "legend_removed": "미래 맵에서 삭제",
    "legend_changed": "변경",
    "width_probability": "선 굵기 = 이동하는 고객 비율",
    "width_flow": "선 굵기 = 유입 고객 100명당 이동 수",
    "loss_probability": "−x% 이탈: 그 터치포인트를 떠나는 비율",
    "loss_flow": "−x% 이탈: 전체 유입 고객 대비 비율",
    "hidden_moves": "약한 이동 {count}개 숨김 ({value} 미만)",
    "hidden_touchpoints": "방문이 적은 터치포인트 {count}개 숨김",
    "slide_hides": "슬라이드 보기: 약한 이동과 세부 정보 숨김",
    "start": "시작",
    "field_id": "ID",
    "field_name": "이름",
    "field_stage": "단계",
    "field_channel": "채널",
    "field_owner": "담당",
    "field_sentiment": "감정",
    "field_pains": "불편",
    "field_goals": "목표",
    "field_questions": "질문",
    "field_notes": "메모",
    "row_doing": "행동",
    "row_doing_hint": "터치포인트, 채널, 담당; 테두리 색 = 감정",
    "row_thinking": "생각",
    "row_thinking_hint": "• 목표  “질문”",
    "row_feeling": "감정",
    "row_feeling_hint": "터치포인트별 감정",
    "row_pains": "불편",
    "row_pains_hint": "고객이 힘든 곳",
    "row_leaks": "이탈",
    "row_leaks_hint": "여기서 이탈하는 고객",
    "row_switching": "경쟁사 전환",
    "row_switching_hint": "경쟁사로 떠나는 고객",
    "goals": "목표",
    "pains": "불편",
    "channel": "채널: ",
    "owner": "담당: ",
    "top_leak": "주요 이탈 #{rank}",
    "of_customers": "고객의 {value}",
    "of_all_churn": "전체 이탈의 {value}",
    "exit_rate": "방문당 이탈률 {value}",
    "no_churn_here": "여기서 이탈 없음",
    "no_switching_here": "여기서 경쟁사 전환 없음",
    "no_stage_touchpoints": "이 단계에 터치포인트 없음",
    "new_in_future": "미래 맵에서 신규",
    "removed_in_future": "미래 맵에서 삭제",
    "changed_in_future": "미래 맵에서 변경",
    "resolved": "✓ 해결: ",
    "more": "+{count}개 더",
    "to_name": "{value} → ",
    "positive": "긍정 (+{value} 초과)",
    "neutral": "중립 (−{value} … +{value})",
    "negative": "부정 (−{value} 미만)",
    "no_sentiment": "감정 없음",
    "current_future_curves": "현재 맵 (점선, 빈 점) · 미래 맵 (실선)",
    "canvas_summary": "터치포인트 {touchpoints}개, 단계 {stages}개 · 평균 감정 {value}",
    "canvas_missing": "감정 값이 없는 터치포인트 {count}개 (곡선의 빈칸): {names}",
    "canvas_flows_note": "이탈과 경쟁사 전환 흐름은 각 터치포인트에서 이탈 / 경쟁사로 떠나는 "
    "전체 유입 고객의 기대 비율입니다 (흡수 마르코프 체인 분석)",
    "compare_title": "현재 vs 미래 · {name}",
    "current_map": "현재 맵: {name}",
    "compare_counts": "터치포인트 추가 {added}개, 삭제 {removed}개, 변경 {changed}개 · "
    "평균 감정 현재 {before} → 미래 {after}",
    "before_after_rows": "이전 → 이후",
    "slide_canvas_hides": "슬라이드 보기: 목표, 질문, 불편, 담당은 전체 캔버스에 있습니다",
    "s_no_common": "두 맵에 공통 터치포인트가 없어 합계만 비교할 수 있습니다",
    "s_touchpoints_added": "추가된 터치포인트",
    "s_touchpoints_removed": "삭제된 터치포인트",
    "s_stages_added": "추가된 단계",
    "s_stages_removed": "삭제된 단계",
    "s_outcomes_added": "추가된 결과",
    "s_outcomes_removed": "삭제된 결과",
    "s_touchpoints_changed": "변경된 터치포인트",
    "s_and_more": " 외 {count}개",
    "s_moves": "이동 추가 {added}, 삭제 {removed}, 가중치 변경 {reweighted} (1%p 이상 {big})",
    "s_reordered": "단계 순서 변경",
    "s_no_change": "구조 변화 없음",
    "s_conversion": "전환",
    "s_churn": "이탈",
    "s_competitor": "경쟁사 이탈",
    "s_steps": "여정당 기대 이동 {before} -> {after}",
    "s_hours": "기대 여정 시간 {before} -> {after}",
    "s_largest_leak": "최대 이탈 지점 {name}: 유입 고객의 {before} -> {after}",
    "s_leak_gone": "최대 이탈 지점 {name} (유입 고객의 {before}) 사라짐",
    "s_leak_changes": "이탈 변화가 큰 곳: ",
    "s_pts": "%p",
}

#: The tables, by language. Korean falls back to English for a missing word.
WORDS: Final[Mapping[str, Mapping[str, str]]] = {"en": _EN, "ko": {**_EN, **_KO}}


def check_lang(lang: object) -> Lang:
    """``lang`` if it is a shipped language, else a :class:`RenderError` listing them.

    >>> check_lang("ko")
    'ko'
    """
    if lang == "en":
        return "en"
    if lang == "ko":
        return "ko"
    raise RenderError(f"lang={lang!r} is not a shipped language; use one of {', '.join(LANGS)}")


def word(lang: str, key: str, **values: object) -> str:
    """The word ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``.

    >>> word("en", "leak_rank", rank=1), word("ko", "converted")
    ('leak #1', '전환')
    """
    text = WORDS[check_lang(lang)][key]
    return text.format(**values) if values else text
