"""Texts for deputies: the pushes they receive and the answers to their commands."""

# --- pushes about a case they follow (casework/notices.py)
NOTICE_FOLLOWED_CASE = "您跟进的案件 {number}（{description}）：{from_state} → {to_state}。{reason}"
