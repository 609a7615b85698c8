"""Reports for health officials: response times, referral guarantee compliance and the provincial summary.

Everything here reads the read models (incident_facts, response_intervals, referrals_view, board_incidents),
never the log: a report costs the same whether the log holds a day or ten years. Months and years are
Bangkok local time, as the province reports them.
"""
