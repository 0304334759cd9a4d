"""The console sender leaves a transcript in the database that says what would have gone to LINE."""

from __future__ import annotations

import io

from linebot.v3.messaging import MessageAction, QuickReply, QuickReplyItem, TextMessage
from sqlmodel import select

from messages.senders import ConsoleSender
from messages.transcript import transcript_recorder
from models.db import session_factory
from models.tables import TranscriptEntry

USER = "U" + "4" * 32


def test_console_sender_prints_and_keeps_a_transcript(db, session, clock):
    out = io.StringIO()
    sender = ConsoleSender(stream=out, clock=clock, record=transcript_recorder(session_factory(db)))
    quick = QuickReply(items=[QuickReplyItem(action=MessageAction(label="取り消す", text="取り消し"))])
    sender.push(
        USER, [TextMessage(text="オンライン申請率 18.5% を記録しました", quick_reply=quick).to_dict()]
    )
    sender.reply("token-1", [{"type": "text", "text": "ありがとうございます"}], to=USER)

    printed = out.getvalue()
    assert "オンライン申請率 18.5% を記録しました" in printed
    assert "[取り消す]" in printed

    rows = session.exec(select(TranscriptEntry).order_by(TranscriptEntry.id)).all()
    assert [(r.kind, r.recipients, r.reply_token) for r in rows] == [
        ("push", [USER], None),
        ("reply", [USER], "token-1"),
    ]
    assert rows[0].messages[0]["text"] == "オンライン申請率 18.5% を記録しました"
    assert rows[0].messages[0]["quickReply"]["items"][0]["action"]["label"] == "取り消す"
    assert rows[0].at == clock.now()
