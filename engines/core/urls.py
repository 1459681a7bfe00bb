"""URLs as logs and messages may show them: passwords never appear."""

from __future__ import annotations

import re

# user:password@ after the scheme's // or after a comma (oslo.messaging's multi-host URLs)
_CREDENTIALS = re.compile(r"(?<=[/,])([^:/@,]+):[^@/,]*@")
_USERINFO = re.compile(r"(?<=[/,])[^@/,]*@")


def safe_url(url: str, *, keep_user: bool = True) -> str:
    """``url`` with every password masked (``user:***@``), or with the whole user part
    dropped (``keep_user=False``)."""
    if keep_user:
        return _CREDENTIALS.sub(r"\1:***@", url)
    return _USERINFO.sub("", url)
