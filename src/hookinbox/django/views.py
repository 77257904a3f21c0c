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
from django.http import HttpRequest, HttpResponse, RawPostDataException, UnreadablePostError
from django.views.decorators.csrf import csrf_exempt

from hookinbox._shell import ERROR, ClientDisconnected, check_request, guard, lower_headers_from_environ, too_large
from hookinbox.core import Reply
from hookinbox.django.conf import get_inbox
from hookinbox.inbox import Inbox
from hookinbox.settings import EndpointSettings

__all__ = ["webhook"]

log = logging.getLogger("hookinbox.django")

_NOT_FOUND = Reply.json(404, {"error": "not_found", "detail": "no webhook endpoint at this path"})


@csrf_exempt
@transaction.non_atomic_requests
def webhook(request: HttpRequest, **kwargs: object) -> HttpResponse:
    """Answer a delivery to the endpoint whose configured ``path`` is this request's path."""
    inbox = get_inbox()
    endpoint = inbox.endpoint_for_path(request.path_info)
    if endpoint is None:
        return _response(_NOT_FOUND)
    return _response(guard(endpoint.name, lambda: _answer(request, inbox, endpoint)))


def _answer(request: HttpRequest, inbox: Inbox, endpoint: EndpointSettings) -> Reply:
    check_request(endpoint.max_body, request.method or "GET", request.META.get("CONTENT_LENGTH") or None)
    try:
        body = request.body
    except RequestDataTooBig:  # over DATA_UPLOAD_MAX_MEMORY_SIZE
        raise too_large(endpoint.max_body) from None
    except RawPostDataException:
        log.error("a middleware read the request stream before hookinbox could (%s); answered 503", endpoint.name)
        return ERROR
    except UnreadablePostError:
        raise ClientDisconnected("the client went away mid-body") from None
    if len(body) > endpoint.max_body:  # no Content-Length (ASGI already read it all)
        raise too_large(endpoint.max_body)
    return inbox.receive(endpoint, lower_headers_from_environ(request.META), body)


def _response(reply: Reply) -> HttpResponse:
    response = HttpResponse(reply.body, status=reply.status)
    for name, value in reply.headers:
        response[name] = value
    return response
