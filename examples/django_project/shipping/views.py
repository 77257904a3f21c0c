import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt


def index(request):
    return JsonResponse({"app": "django"})


@csrf_exempt
def echo(request):  # the project's own views still get their request bodies
    return JsonResponse({"echo": request.body.decode(), "json": json.loads(request.body or b"null")})
