"""The webhook view: a thin shell over :func:`hookinbox.core.receive`.

It reads ``request.body`` before anything else can (it is CSRF-exempt and
outside ``ATOMIC_REQUESTS``, so the event is committed before a handler thread
looks for it). A sync view: under ASGI Django runs it in a thread, and
handlers run in the inbox's thread pool either way.
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse, RawPostDataException
from django.views.decorators.csrf import csrf_exempt

from hookinbox.core import Reply, lower_headers_from_environ, precheck, reply_for, too_large
from hookinbox.django.conf import get_inbox
from hookinbox.errors import StoreUnavailable

__all__ = ["webhook"]

log = logging.getLogger("hookinbox.django")

_ERROR = reply_for(StoreUnavailable("internal error; please retry"))
_NOT_FOUND = Reply.json(404, {"error": "not_found", "detail": "no webhook endpoint at this path"})


@csrf_exempt
@transaction.non_atomic_requests
def webhook(request: HttpRequest, **kwargs: object) -> HttpResponse:
    """Answer a delivery to the endpoint whose configured ``path`` is this request's path."""
    inbox = get_inbox()
    endpoint = inbox.endpoint_for_path(request.path_info)
    if endpoint is None:
        return _response(_NOT_FOUND)
    try:
        reply = precheck(endpoint, request.method or "GET", request.META.get("CONTENT_LENGTH") or None)
        if reply is None:
            try:
                body = request.body
            except RequestDataTooBig:  # over DATA_UPLOAD_MAX_MEMORY_SIZE
                return _response(too_large(endpoint))
            if len(body) > endpoint.max_body:  # no Content-Length (ASGI already read it all)
                return _response(too_large(endpoint))
            headers = lower_headers_from_environ(request.META)
            reply = inbox.receive(endpoint, headers, body)
    except RawPostDataException:
        log.error("a middleware read the request stream before hookinbox could (%s); answered 503", endpoint.name)
        reply = _ERROR
    except Exception:
        log.exception("unexpected error answering a delivery to %s; answered 503", endpoint.name)
        reply = _ERROR
    return _response(reply)


def _response(reply: Reply) -> HttpResponse:
    response = HttpResponse(reply.body, status=reply.status)
    for name, value in reply.headers:
        response[name] = value
    return response
