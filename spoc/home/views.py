from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from spoc.home.selectors import home_summary_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home/home.html", {"summary": home_summary_for(request.user)})
