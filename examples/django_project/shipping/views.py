import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt


def index(request):
    return JsonResponse({"app": "django"})


@csrf_exempt
def echo(request):  # the project's own views still get their request bodies
    text = request.body.decode("utf-8", "replace")
    try:
        parsed = json.loads(request.body or b"null")
    except ValueError:  # not JSON (or not UTF-8): the client's mistake, a 400, never a 500
        return JsonResponse({"error": "the body is not JSON", "echo": text}, status=400)
    return JsonResponse({"echo": text, "json": parsed})
