"""The dispatcher's conversations with customers: the inbox (every thread), the unread
count for the board's badge, marking an order's texts read, and answering from the order
page. The page's script asks for JSON (`core.http.wants_json`); a plain form post gets
the order page back."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import dispatcher_required
from core.http import wants_json
from dispatch.models import Order
from notifications.models import new_send_key
from notifications.selectors import inbox_rows, inbox_threads, order_thread, unread_count
from notifications.services import conversations as services

THREADS_PER_PAGE = 50


@dispatcher_required
@require_GET
def inbox_view(request: HttpRequest) -> HttpResponse:
    page = Paginator(inbox_rows(), THREADS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/conversations.html",
        {"page": page, "threads": inbox_threads(page.object_list), "unread": unread_count()},
    )


@dispatcher_required
@require_GET
def unread_view(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"unread": unread_count()})


@dispatcher_required
@require_GET
def thread_view(request: HttpRequest, order_id: int) -> HttpResponse:
    """The order's conversation as JSON: what an open order page fetches again when its
    socket comes back (texts may have come while it was away)."""
    order = get_object_or_404(Order, pk=order_id)
    thread = [services.message_payload(m) for m in order_thread(order=order)]
    return JsonResponse({"order": order.pk, "messages": thread, "unread": unread_count()})


@dispatcher_required
@require_POST
def read_view(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_object_or_404(Order, pk=order_id)
    marked = services.conversation_read(order=order)
    if wants_json(request):
        return JsonResponse({"read": marked, "unread": unread_count()})
    return redirect(_order_page(order))


@dispatcher_required
@require_POST
def phone_read_view(request: HttpRequest) -> HttpResponse:
    """The texts of a number that matched no order, marked read from the inbox."""
    phone = request.POST.get("phone", "").strip()
    if not phone:
        return JsonResponse({"errors": {"phone": [_("Which number?")]}}, status=400)
    marked = services.conversation_read(phone=phone)
    if wants_json(request):
        return JsonResponse({"read": marked, "unread": unread_count()})
    return redirect("conversation-inbox")


@dispatcher_required
@require_POST
def answer_view(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_object_or_404(Order, pk=order_id)
    try:
        message, created = services.answer_send(
            order=order,
            body=request.POST.get("body", ""),
            key=request.POST.get("key", ""),
            user=request.user,
        )
    except ValidationError as exc:
        if wants_json(request):
            return JsonResponse({"errors": exc.message_dict}, status=400)
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
        return redirect(_order_page(order))
    if wants_json(request):
        return JsonResponse(
            {"message": services.message_payload(message), "next_key": new_send_key()},
            status=201 if created else 200,
        )
    if message.status == message.Status.FAILED:
        messages.error(request, _("The answer was not sent: %(why)s") % {"why": message.error})
    else:
        messages.success(request, _("Answer sent to the customer."))
    return redirect(_order_page(order))


def _order_page(order: Order) -> str:
    return reverse("dashboard:order-detail", args=[order.pk]) + "#order-conversation"
