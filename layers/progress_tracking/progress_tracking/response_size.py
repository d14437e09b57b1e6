"""What a response costs against Lambda's limit on an invoke response, and the budget every response stays within.

Lambda fails an invocation whose response passes 6 MB (API Gateway then answers 502). What counts is the whole
invoke response as the python3.12 runtime writes it: the JSON of the proxy dict (`statusCode`, `headers`, `body`),
UTF-8, with non-ASCII characters as they are (that runtime's marshaller sets `ensure_ascii=False`; python3.11 and
earlier escape them), and the body inside it as an escaped JSON string: a `"` or `\\` of the body costs two bytes
there, and a body's own escapes (`\\"`, `\\n`, `\\\\`) cost one more. A note of 2,000 quotes is 2,002 bytes in the
database, 4,002 in the body and 8,002 in the invoke response.
"""

from __future__ import annotations

import json
from typing import Any

LAMBDA_RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024
# Every response stays within two thirds of the limit. The frame of a page (statusCode, headers, the page's fields
# besides its items: a user id, a cursor) is a few hundred bytes and the largest item ~10 KB (a log with every text
# field at its bound, in the costliest characters), so pages end close to the budget; the third left over is room
# for what an item may gain (a field added later) before anyone revisits this number.
RESPONSE_BUDGET_BYTES = 4 * 1024 * 1024
# What a page's items may take: the budget less an allowance for its frame, far above the frame's worst case.
FRAME_ALLOWANCE_BYTES = 64 * 1024
ITEMS_BUDGET_BYTES = RESPONSE_BUDGET_BYTES - FRAME_ALLOWANCE_BYTES


# Built once: json.dumps with any option builds a new encoder on every call, which costs more than encoding a log.
_BODY = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_RUNTIME = json.JSONEncoder(ensure_ascii=False)  # the python3.12 runtime's (for strings, what its marshaller does)


def body_text(payload: Any) -> str:
    """A JSON body as every API response writes it: compact, non-ASCII as is."""
    return _BODY.encode(payload)


def invoke_bytes(text: str) -> int:
    """The bytes `text` (a body, or a piece of one) takes inside the invoke response, as the runtime escapes it.

    Escaping is character by character, so a body costs the sum of its pieces."""
    return len(_RUNTIME.encode(text).encode("utf-8", "surrogatepass")) - 2
