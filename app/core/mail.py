"""Sending e-mail: by SMTP when MAIL_SERVER is set, else (development) as .eml files in MAIL_OUTBOX_DIR.

Every mail of the application (digest, password reset, notifications) goes through `deliver`.
"""
from __future__ import annotations

import smtplib
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

from app.core.timefmt import PARIS


def deliver(message: EmailMessage) -> None:
    """Send `message` now; raises (smtplib / OSError) when the mail server refuses or is down."""
    config = current_app.config
    if config.get("MAIL_SERVER"):
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
        return
    outbox = Path(config["MAIL_OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(PARIS).strftime("%Y%m%d-%H%M%S-%f")
    safe_to = str(message["To"]).replace("@", "_at_").replace("/", "_")
    (outbox / f"{stamp}-{safe_to}.eml").write_bytes(bytes(message))
