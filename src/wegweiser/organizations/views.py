"""Admin pages for the organization tree, memberships and the audit log (thin: parse, call)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from wegweiser.accounts.actions import staff_account_create
from wegweiser.accounts.decorators import staff_required
from wegweiser.core.forms import add_action_errors
from wegweiser.core.models import AuditEntry
from wegweiser.organizations import actions
from wegweiser.organizations.access import (
    Perm,
    access_membership,
    access_node,
    grantable_roles,
    has_perm,
    nodes_with_perm,
)
from wegweiser.organizations.forms import (
    AuditFilterForm,
    MembershipAddForm,
    NodeCreateForm,
    NodeUpdateForm,
    StaffInviteForm,
)
from wegweiser.organizations.models import Node
from wegweiser.organizations.selectors import membership_list_for_node, node_list_for_user


@staff_required
def tree(request: HttpRequest) -> HttpResponse:
    nodes = list(node_list_for_user(request.user))
    top = min((n.depth for n in nodes), default=1)
    rows = [(n, n.depth - top) for n in nodes]
    return render(request, "organizations/tree.html", {"rows": rows})


@staff_required
def node_detail(request: HttpRequest, node_id: str) -> HttpResponse:
    node = access_node(request.user, node_id)
    can_members = has_perm(request.user, Perm.MANAGE_MEMBERS, node)
    context = {
        "node": node,
        "ancestors": [
            a for a in Node.objects.get_ancestors(node) if has_perm(request.user, Perm.VIEW_NODE, a)
        ],
        "children": Node.objects.get_children(node),
        "can_tree": has_perm(request.user, Perm.MANAGE_TREE, node),
        "can_members": can_members,
        "memberships": membership_list_for_node(node) if can_members else [],
    }
    return render(request, "organizations/node_detail.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
def node_create(request: HttpRequest, node_id: str) -> HttpResponse:
    parent = access_node(request.user, node_id, Perm.MANAGE_TREE)
    form = NodeCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            child = actions.node_create(actor=request.user, parent=parent,
                                        name=form.cleaned_data["name"],
                                        kind=form.cleaned_data["kind"])
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The unit was created."))
            return redirect("organizations:node", node_id=child.public_id)
    return render(request, "organizations/node_form.html",
                  {"node": parent, "form": form, "title": _("Add a unit")})


@staff_required
@require_http_methods(["GET", "POST"])
def node_update(request: HttpRequest, node_id: str) -> HttpResponse:
    node = access_node(request.user, node_id, Perm.MANAGE_TREE)
    initial = {"name": node.name, "kind": node.kind, "is_active": node.is_active}
    form = NodeUpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.node_update(actor=request.user, node=node, **form.cleaned_data)
        except ValidationError as exc:
            node.refresh_from_db()
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("organizations:node", node_id=node.public_id)
    return render(request, "organizations/node_form.html",
                  {"node": node, "form": form, "title": _("Edit unit")})


@staff_required
@require_http_methods(["GET", "POST"])
def membership_add(request: HttpRequest, node_id: str) -> HttpResponse:
    node = access_node(request.user, node_id, Perm.MANAGE_MEMBERS)
    form = MembershipAddForm(request.POST or None, roles=grantable_roles(request.user, node))
    if request.method == "POST" and form.is_valid():
        try:
            actions.membership_create(actor=request.user, node=node,
                                      user=form.cleaned_data["username"],
                                      role=form.cleaned_data["role"])
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The role was given."))
            return redirect("organizations:node", node_id=node.public_id)
    return render(request, "organizations/node_form.html",
                  {"node": node, "form": form, "title": _("Give a role to a staff member")})


@staff_required
@require_http_methods(["GET", "POST"])
def staff_invite(request: HttpRequest, node_id: str) -> HttpResponse:
    node = access_node(request.user, node_id, Perm.MANAGE_MEMBERS)
    form = StaffInviteForm(request.POST or None, roles=grantable_roles(request.user, node))
    if request.method == "POST" and form.is_valid():
        staff_account_create(actor=request.user, node=node,
                             base_url=request.build_absolute_uri("/").rstrip("/"),
                             **form.cleaned_data)
        messages.success(request, _("The account was created and an invitation e-mail sent."))
        return redirect("organizations:node", node_id=node.public_id)
    return render(request, "organizations/node_form.html",
                  {"node": node, "form": form, "title": _("Create a staff account")})


@staff_required
@require_POST
def membership_delete(request: HttpRequest, membership_id: str) -> HttpResponse:
    membership = access_membership(request.user, membership_id)
    node = membership.node
    try:
        actions.membership_delete(actor=request.user, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The role was removed."))
    return redirect("organizations:node", node_id=node.public_id)


@staff_required
def audit_log(request: HttpRequest) -> HttpResponse:
    nodes = nodes_with_perm(request.user, Perm.VIEW_AUDIT)
    if not nodes.exists():
        raise Http404
    form = AuditFilterForm(request.GET or None)
    entries = AuditEntry.objects.filter(node__in=nodes).select_related("node").order_by("-seq")
    if form.is_valid() and form.cleaned_data["action"]:
        entries = entries.filter(Q(action__startswith=form.cleaned_data["action"]))
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    actions.audit_log_read(actor=request.user, page_number=page.number)
    return render(request, "organizations/audit_log.html", {"page": page, "form": form})
