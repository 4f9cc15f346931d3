"""Administration: users and roles, the organisation hierarchy, deploying process versions and
the street-editable settings (negative-list grounds, prior-review catalogue, mediation deadlines)
and the yearly official holiday schedules.
Administrators only. Every change is audited."""
from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from engine.config import BUNDLED_FORMS_DIR
from engine.runtime import accounts, organisations
from engine.runtime.definitions import bundle_path_problem
from engine.runtime.errors import DeployError, Forbidden, HongwuError, ValidationFailed
from engine.runtime.roles import ROLES
from engine.runtime.settings import SETTING_MODULES, setting_editor, setting_list, setting_module
from engine.runtime.settings import save_setting as save_setting_service
from engine.views import admin as admin_views
from engine.views.admin import ORG_KINDS

from .context import Viewer, check_csrf, render, runtime
from .deps import CurrentViewer
from .labels import actor_zh

router = APIRouter(include_in_schema=False)
KIND_ZH = {"district": "区", "street": "街道", "community": "社区", "compound": "小区"}


def admin(request: Request, v: CurrentViewer) -> Viewer:
    v.require({"admin"})
    return v


@router.get("/admin")
def admin_home(request: Request, v: Viewer = Depends(admin)):
    return _admin_home(request)


def _admin_home(request: Request, gap_error: HongwuError | None = None, gap_values: dict | None = None,
                message: str = "", status_code: int = 200):
    from engine.config import base_url_warning

    rt = runtime(request)
    base_url = rt.settings.base_url
    gaps, candidates = admin_views.staffing_gaps_with_candidates(rt)
    return render(request, "admin/home.html", {"settings": setting_list(), "base_url": base_url,
                                               "base_url_warning": base_url_warning(base_url), "gaps": gaps,
                                               "candidates": candidates, "gap_error": gap_error,
                                               "gap_values": gap_values or {}, "gap_message": message},
                  status_code=status_code)


@router.post("/admin/staffing", dependencies=[Depends(check_csrf)])
def fill_staffing_gap(request: Request, v: Viewer = Depends(admin), role: str = Form(""), org: str = Form(""),
                      username: str = Form(""), display_name: str = Form(""), password: str = Form(""),
                      existing: str = Form("")):
    """One step from the gap list: create the missing user, or place an existing one there."""
    rt = runtime(request)
    values = {"role": role, "org": org, "username": username, "display_name": display_name}
    try:
        done = accounts.fill_staffing_gap(rt, v.username, role, org, username=existing or username,
                                          display_name=display_name, password=password, existing=bool(existing))
    except HongwuError as exc:
        return _admin_home(request, exc, values, status_code=422)
    return _admin_home(request, message=f"已配置用户 {done}（{ROLES.get(role, role)}）")


# --- users ------------------------------------------------------------------------------


def _users_page(request: Request, error: HongwuError | None = None, message: str = "", values=None, status_code=200):
    users, orgs = admin_views.users_and_orgs(runtime(request))
    return render(request, "admin/users.html", {"users": users, "orgs": orgs, "error": error, "message": message,
                                                "values": values or {}, "KIND_ZH": KIND_ZH}, status_code=status_code)


@router.get("/admin/users")
def users_page(request: Request, v: Viewer = Depends(admin), role: str = Query("", max_length=40),
               jurisdiction: str = Query("", max_length=64)):
    # Prefilled from a staffing gap on the admin home page; an unknown role is ignored (the form
    # falls back to its default) and an unknown organisation matches no option.
    values = {"role": role if role in ROLES else "", "jurisdiction": jurisdiction}
    return _users_page(request, values=values)


@router.post("/admin/users", dependencies=[Depends(check_csrf)])
def create_user(request: Request, v: Viewer = Depends(admin), username: str = Form(""), display_name: str = Form(""),
                role: str = Form(""), jurisdiction: str = Form(""), password: str = Form("")):
    rt = runtime(request)
    values = {"username": username, "display_name": display_name, "role": role, "jurisdiction": jurisdiction}
    try:
        accounts.create_user(rt, v.actor, username, display_name, role, jurisdiction or None, password)
    except HongwuError as exc:
        return _users_page(request, exc, values=values, status_code=422)
    return _users_page(request, message=f"已创建用户 {username}")


@router.post("/admin/users/{username}", dependencies=[Depends(check_csrf)])
def update_user(request: Request, username: str, v: Viewer = Depends(admin), role: str = Form(""),
                jurisdiction: str = Form(""), active: str = Form(""), unlock: str = Form(""),
                password: str = Form(""), signout: str = Form("")):
    rt = runtime(request)
    try:
        accounts.change_user(rt, v.actor, username, role=role, jurisdiction=jurisdiction or None, active=bool(active),
                             unlock=bool(unlock), password=password, sign_out=bool(signout))
    except HongwuError as exc:
        return _users_page(request, exc, status_code=422)
    return _users_page(request, message=f"已更新用户 {username}")


# --- organisation -----------------------------------------------------------------------


def _orgs_page(request: Request, error: HongwuError | None = None, message: str = "", values=None, status_code=200):
    orgs, seals = admin_views.orgs_with_seals(runtime(request))
    return render(request, "admin/orgs.html", {"orgs": orgs, "error": error, "message": message, "values": values or {},
                                               "KIND_ZH": KIND_ZH, "kinds": ORG_KINDS, "seals": seals},
                  status_code=status_code)


@router.get("/admin/orgs")
def orgs_page(request: Request, v: Viewer = Depends(admin)):
    return _orgs_page(request)


@router.post("/admin/orgs", dependencies=[Depends(check_csrf)])
def create_org(request: Request, v: Viewer = Depends(admin), kind: str = Form(""), code: str = Form(""),
               name: str = Form(""), parent: str = Form("")):
    rt = runtime(request)
    values = {"kind": kind, "code": code, "name": name, "parent": parent}
    try:
        organisations.create_org(rt, v.actor, kind, code, name, parent or None)
    except HongwuError as exc:
        return _orgs_page(request, exc, values=values, status_code=422)
    return _orgs_page(request, message=f"已添加 {KIND_ZH.get(kind, kind)}「{name}」")


@router.post("/admin/orgs/{org_code}", dependencies=[Depends(check_csrf)])
async def update_org_notices(request: Request, org_code: str, v: Viewer = Depends(admin)):
    """An organisation's 机关代字 and electronic seal (PNG), each change audited."""
    rt = runtime(request)
    form = await request.form()
    upload = form.get("seal")
    seal = await upload.read() if isinstance(upload, UploadFile) and upload.filename else None
    try:
        await run_in_threadpool(organisations.set_notice_settings, rt, v.actor, org_code,
                                doc_prefix=str(form.get("doc_prefix") or ""), seal=seal,
                                remove_seal=form.get("remove_seal") == "1")
    except HongwuError as exc:
        return _orgs_page(request, exc, status_code=422)
    return _orgs_page(request, message=f"已保存「{org_code}」的发文设置")


@router.get("/admin/orgs/{org_code}/seal.png")
def org_seal_image(request: Request, org_code: str, v: Viewer = Depends(admin)):
    content, content_type = admin_views.seal_image(runtime(request), org_code)
    return Response(content, media_type=content_type)


# --- deploy -----------------------------------------------------------------------------


def _deploy_page(request: Request, error: HongwuError | None = None, results=None, status_code=200):
    rows, names = admin_views.deployed_definitions(runtime(request))
    return render(request, "admin/deploy.html", {"definitions": rows, "error": error, "results": results,
                                                 "deployer_names": names, "actor_zh": actor_zh,
                                                 "definition_names": {r.key: r.name for r in rows}},
                  status_code=status_code)


@router.get("/admin/deploy")
def deploy_page(request: Request, v: Viewer = Depends(admin)):
    return _deploy_page(request)


FORM_REF = re.compile(r'name="form(?:Json|Ui)SchemaFilename"\s+value="([^"]+)"')


def stage_upload(files: list[tuple[str, bytes]], workdir: Path) -> tuple[Path, Path]:
    """Lay uploaded files out as deploy expects: BPMN/DMN in one folder, forms under a forms
    folder (the bundled forms, overlaid by uploaded .json files put where the BPMN names them)."""
    bpmn_dir, forms_dir = workdir / "bpmn", workdir / "forms"
    bpmn_dir.mkdir()
    if BUNDLED_FORMS_DIR.is_dir():
        shutil.copytree(BUNDLED_FORMS_DIR, forms_dir)
    else:
        forms_dir.mkdir()
    texts: dict[str, str] = {}
    jsons: dict[str, bytes] = {}
    for name, content in files:
        base = Path(name).name
        if not base or base.startswith("."):
            continue
        if base.endswith((".bpmn", ".dmn")):
            try:
                texts[base] = content.decode("utf-8")
            except UnicodeDecodeError:
                raise DeployError(f"{base}: not UTF-8 text", f"{base}：不是 UTF-8 文本") from None
            (bpmn_dir / base).write_bytes(content)
        elif base.endswith(".json"):
            jsons[base] = content
        else:
            raise DeployError(f"{base}: only .bpmn, .dmn and .json files", f"{base}：只能上传 .bpmn、.dmn 或 .json 文件")
    if not any(n.endswith(".bpmn") for n in texts):
        raise DeployError("upload at least one .bpmn file", "请至少上传一个 .bpmn 文件")
    refs = {ref for xml in texts.values() for ref in FORM_REF.findall(xml)}
    for base, content in jsons.items():
        targets = [r for r in refs if Path(r).name == base]
        if not targets:
            raise DeployError(f"{base}: no BPMN task names this form", f"{base}：没有流程任务引用此表单")
        for ref in targets:
            problem = bundle_path_problem(ref)
            dest = (forms_dir / ref).resolve()
            if problem is not None or not dest.is_relative_to(forms_dir.resolve()):
                reason = problem or ("it leaves the forms folder", "路径指向表单目录之外")
                raise DeployError(f"{ref}: form path is refused: {reason[0]}", f"{ref}：表单路径无效：{reason[1]}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(content)
    return bpmn_dir, forms_dir


@router.post("/admin/deploy", dependencies=[Depends(check_csrf)])
async def deploy_upload(request: Request, v: Viewer = Depends(admin)):
    from engine.runtime.service import deploy

    form = await request.form()
    files = [(f.filename or "", await f.read()) for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    rt = runtime(request)
    try:
        with tempfile.TemporaryDirectory(prefix="hongwu-deploy-") as tmp:
            bpmn_dir, forms_dir = stage_upload(files, Path(tmp))
            results = await run_in_threadpool(deploy, rt, [bpmn_dir], forms_dir, v.actor)
    except HongwuError as exc:
        return _deploy_page(request, exc, status_code=422)
    return _deploy_page(request, results=[r.as_dict() for r in results])


# --- settings ---------------------------------------------------------------------------


def key_labels(module: Any) -> dict[str, str]:
    """Readable names for a setting's keys: those its descriptor declares, else the module's."""
    labels: dict[str, str] = dict(getattr(module, "labels", {}) or {})
    for g in getattr(module, "GROUNDS", []) or []:
        if hasattr(g, "id"):
            labels[g.id] = getattr(g, "text", None) or getattr(g, "title", None) or g.id
    for k, spec in (getattr(module, "SETTING_FIELDS", {}) or {}).items():
        labels[k] = spec[0] if isinstance(spec, (tuple, list)) and spec else str(spec)
    return labels


def editor_kind(value: Any, choices: Any = None) -> str:
    if choices and isinstance(value, dict) and set(value) <= set(choices):
        return "choices"
    if isinstance(value, dict) and value and all(isinstance(x, bool) for x in value.values()):
        return "switches"
    if isinstance(value, dict) and value and all(isinstance(x, int) and not isinstance(x, bool) for x in value.values()):
        return "numbers"
    return "json"


def _settings_page(request: Request, key: str, org_code: str, *, draft: Any = None, problems: list[str] | None = None,
                   message: str = "", status_code: int = 200):
    module = setting_module(key)
    title = SETTING_MODULES[key][1] if key in SETTING_MODULES else key
    if key not in SETTING_MODULES:
        raise ValidationFailed(f"unknown setting {key!r}", f"设置项「{key}」不存在")
    ctx: dict[str, Any] = {"key": key, "title": title, "available": module is not None, "org_code": org_code,
                           "problems": problems or [], "message": message, "settings": setting_list()}
    editor = setting_editor(runtime(request), key, org_code or None)
    ctx["orgs"] = editor.orgs
    ctx["org_names"] = {code: name for code, name, _kind in editor.orgs}
    if module is not None and editor.current is not None:
        history = [{"version": h["version"], "by": h["created_by"],
                    "by_name": actor_zh(h["created_by"], {h["created_by"]: h["created_by_name"]}
                                        if h["created_by_name"] else {}),
                    "at": h["created_at"].isoformat()} for h in editor.history]
        value = editor.current.value if draft is None else draft
        choices = getattr(module, "choices", None) or {}
        ctx.update(current=editor.current, history=history, value=value,
                   kind=editor_kind(module.default_setting(), choices), choices=choices,
                   labels=key_labels(module), default=module.default_setting(),
                   value_json=json.dumps(value, ensure_ascii=False, indent=2) if not isinstance(value, str) else value)
    return render(request, "admin/settings.html", ctx, status_code=status_code)


@router.get("/admin/settings/{key}")
def settings_page(request: Request, key: str, v: Viewer = Depends(admin), org: str = ""):
    return _settings_page(request, key, org)


@router.post("/admin/settings/{key}", dependencies=[Depends(check_csrf)])
async def save_setting(request: Request, key: str, v: Viewer = Depends(admin)):
    module = setting_module(key)
    if key not in SETTING_MODULES or module is None:
        raise ValidationFailed(f"setting {key!r} is not available", f"设置项「{key}」暂不可用")
    form = await request.form()
    org_code = str(form.get("org") or "")
    kind = editor_kind(module.default_setting(), getattr(module, "choices", None))
    problems: list[str] = []
    value: Any
    if kind == "choices":  # what was picked; the validator refuses anything not offered
        value = {k: str(form.get(f"v.{k}") or "") for k in module.default_setting()}
    elif kind == "switches":
        value = {k: form.get(f"v.{k}") == "1" for k in module.default_setting()}
        value.update({k[2:]: form.get(k) == "1" for k in form.keys() if k.startswith("v.") and k[2:] not in value})
    elif kind == "numbers":
        value = {}
        for k in form.keys():
            if k.startswith("v."):
                raw = str(form.get(k) or "").strip()
                try:
                    value[k[2:]] = int(raw)
                except ValueError:
                    value[k[2:]] = raw
                    problems.append(f"「{k[2:]}」必须是整数 ({k[2:]} must be an integer)")
    else:
        text = str(form.get("value") or "")
        try:
            value = json.loads(text)
        except ValueError as exc:
            return _settings_page(request, key, org_code, draft=text, status_code=422,
                                  problems=[f"不是有效的 JSON：{exc} (not valid JSON)"])
    if problems:
        return _settings_page(request, key, org_code, draft=value, problems=problems, status_code=422)
    try:
        saved = await run_in_threadpool(save_setting_service, runtime(request), key, org_code or None, value, v.actor)
    except (ValidationFailed, Forbidden) as exc:
        problems = [d.get("message_zh") or exc.message_zh for d in exc.details] if exc.details else [exc.message_zh]
        return _settings_page(request, key, org_code, draft=value, problems=problems, status_code=422)
    return _settings_page(request, key, org_code, message=f"已保存为第 {saved.version} 版")


@router.get("/admin/settings")
def settings_home(request: Request, v: Viewer = Depends(admin)):
    return RedirectResponse(f"/admin/settings/{next(iter(SETTING_MODULES))}", status_code=303)


# --- holiday schedules ---------------------------------------------------------------------


def _calendar_page(request: Request, *, error: HongwuError | None = None, result=None, dry_run: bool = False,
                   values=None, status_code=200):
    from engine.views.calendar import year_overviews

    rt = runtime(request)
    this = rt.now().year
    years = year_overviews(rt, list(range(this - 1, this + 4)), with_history=True)
    return render(request, "admin/calendar.html", {"years": years, "error": error, "result": result,
                                                   "dry_run": dry_run, "values": values or {}},
                  status_code=status_code)


@router.get("/admin/calendar")
def calendar_page(request: Request, v: Viewer = Depends(admin)):
    return _calendar_page(request)


@router.post("/admin/calendar", dependencies=[Depends(check_csrf)])
async def calendar_upload(request: Request, v: Viewer = Depends(admin)):
    form = await request.form()
    upload = form.get("file")
    source = str(form.get("source") or "").strip()
    dry_run = bool(form.get("dry_run"))
    values = {"source": source, "dry_run": dry_run}
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed("choose a schedule file", "请选择放假安排文件")
        try:
            text = (await upload.read()).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed("the file must be UTF-8 CSV", "文件须为 UTF-8 编码的 CSV") from None
        result = await run_in_threadpool(runtime(request).load_holiday_schedule, text, v.actor, source, dry_run)
    except HongwuError as exc:
        return _calendar_page(request, error=exc, values=values, status_code=422)
    return _calendar_page(request, result=result, dry_run=dry_run, values=values)
