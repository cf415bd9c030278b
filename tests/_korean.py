"""The outcomes, entry and moves of the Korean test maps (test_draw's and test_canvas's
maps differ in their touchpoints' names and details, not in their flows)."""

from __future__ import annotations

from typing import Any

__all__ = ["KOREAN_FLOWS"]

KOREAN_FLOWS: dict[str, Any] = {
    "outcomes": [
        {"id": "구매완료", "name": "구매 완료", "kind": "conversion"},
        {"id": "이탈", "name": "결정하지 않음", "kind": "churn"},
        {"id": "경쟁사", "name": "쿠팡에서 구매", "kind": "competitor"},
    ],
    "entry": {"광고": 3, "검색": 1},
    "moves": [
        {"from": "광고", "to": "검색", "weight": 2},
        {"from": "광고", "to": "장바구니", "weight": 3},
        {"from": "광고", "to": "이탈", "weight": 5},
        {"from": "검색", "to": "장바구니", "weight": 4},
        {"from": "검색", "to": "경쟁사", "weight": 1},
        {"from": "장바구니", "to": "결제", "weight": 6},
        {"from": "장바구니", "to": "이탈", "weight": 2},
        {"from": "결제", "to": "구매완료", "weight": 8},
        {"from": "결제", "to": "경쟁사", "weight": 1},
    ],
}
