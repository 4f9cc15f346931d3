"""Administration: users and roles, the organisation hierarchy, deploying process versions and
the street-editable settings (negative-list grounds, prior-review catalogue, mediation deadlines)
and the yearly official holiday schedules.
Administrators only. Every change is audited."""
from __future__ import annotations

import importlib
import json
import re
import shutil
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from engine import audit
from engine.config import BUNDLED_FORMS_DIR
from engine.db.models import ORG_KINDS, OrgSeal, OrgUnit, ProcessDefinition, User
from engine.orgs import ensure_org, ensure_user, hash_password, org_by_code
from engine.runtime.definitions import bundle_path_problem
from engine.runtime.errors import DeployError, Forbidden, HongwuError, NotFound, ValidationFailed
from engine.runtime.roles import ROLES
from engine.runtime.staffing import staffing_gaps

from .context import Viewer, check_csrf, render, runtime
from .deps import CurrentViewer
from .labels import actor_zh
from .security import end_sessions, lock_user

router = APIRouter(include_in_schema=False)
KIND_ZH = {"district": "区", "street": "街道", "community": "社区", "compound": "小区"}
# Setting key -> module exposing SETTING_KEY, default_setting(), validate_setting(value).
SETTING_MODULES = {"negative_list": ("engine.domain.negative_list", "负面清单（候选人禁止条件）"),
                   "prior_review_catalogue": ("engine.domain.prior_review", "先议事项目录"),
                   "mediation_deadlines": ("engine.domain.mediation", "分级调解期限")}
MIN_PASSWORD = 8


def admin(request: Request, v: CurrentViewer) -> Viewer:
    v.require({"admin"})
    return v


@router.get("/admin")
def admin_home(request: Request, v: Viewer = Depends(admin)):
    from engine.config import base_url_warning

    rt = runtime(request)
    base_url = rt.settings.base_url
    with rt.uow() as s:
        gaps = staffing_gaps(s)
    return render(request, "admin/home.html", {"settings": _setting_list(), "base_url": base_url,
                                               "base_url_warning": base_url_warning(base_url), "gaps": gaps})


# --- users ------------------------------------------------------------------------------


def _users_page(request: Request, error: HongwuError | None = None, message: str = "", values=None, status_code=200):
    with runtime(request).uow() as s:
        users = list(s.scalars(select(User).options(joinedload(User.jurisdiction)).order_by(User.username)))
        orgs = list(s.scalars(select(OrgUnit).order_by(OrgUnit.path)))
        s.expunge_all()
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
        if not re.fullmatch(r"[A-Za-z0-9_.-]{2,64}", username.strip()):
            raise ValidationFailed("username: 2–64 letters, digits, _ . -", "用户名须为 2–64 位字母、数字或 _ . -")
        if not display_name.strip():
            raise ValidationFailed("display name is required", "姓名为必填项")
        if len(password) < MIN_PASSWORD:
            raise ValidationFailed(f"password: at least {MIN_PASSWORD} characters", f"密码至少 {MIN_PASSWORD} 位")
        with rt.uow() as s:
            if s.scalar(select(User.id).where(User.username == username.strip())) is not None:
                raise ValidationFailed(f"user {username!r} exists", f"用户名「{username}」已存在")
            ensure_user(s, username.strip(), display_name.strip(), role, jurisdiction or None, password, rt.now())
            audit.append(s, chain=f"user:{username.strip()}", actor=v.username, action="user_created",
                         after={"role": role, "jurisdiction": jurisdiction or None}, now=rt.now())
    except HongwuError as exc:
        return _users_page(request, exc, values=values, status_code=422)
    return _users_page(request, message=f"已创建用户 {username}")


@router.post("/admin/users/{username}", dependencies=[Depends(check_csrf)])
def update_user(request: Request, username: str, v: Viewer = Depends(admin), role: str = Form(""),
                jurisdiction: str = Form(""), active: str = Form(""), unlock: str = Form(""),
                password: str = Form(""), signout: str = Form("")):
    rt = runtime(request)
    try:
        with rt.uow() as s:
            user = s.scalar(select(User).options(joinedload(User.jurisdiction)).where(User.username == username))
            if user is None:
                raise ValidationFailed(f"unknown user {username!r}", f"用户「{username}」不存在")
            before = {"role": user.role, "jurisdiction": user.jurisdiction.code if user.jurisdiction else None,
                      "active": user.active}
            if role not in ROLES:
                raise ValidationFailed(f"unknown role {role!r}", f"角色「{role}」无效")
            if username == v.username and (role != "admin" or not active):
                raise ValidationFailed("you cannot remove your own administrator rights",
                                       "不能取消自己的管理员权限或停用自己")
            user.role = role
            user.jurisdiction_id = org_by_code(s, jurisdiction).id if jurisdiction else None
            user.active = bool(active)
            if unlock:
                user.failed_logins, user.locked_until = 0, None
            if password:
                if len(password) < MIN_PASSWORD:
                    raise ValidationFailed(f"password: at least {MIN_PASSWORD} characters", f"密码至少 {MIN_PASSWORD} 位")
                user.password_hash = hash_password(password)
            after = {"role": role, "jurisdiction": jurisdiction or None, "active": bool(active)}
            # A reset password, a deactivation or 下线 ends every session the user has open.
            sessions_ended = bool(signout or password or (before["active"] and not active))
            s.flush()
            if sessions_ended:
                end_sessions(s, user.id)
            else:
                lock_user(s, user.id)  # the user's chain: queue behind a login being recorded
            audit.append(s, chain=f"user:{username}", actor=v.username, action="user_changed", before=before,
                         after=after, detail={"unlocked": bool(unlock), "password_reset": bool(password),
                                              "sessions_ended": sessions_ended}, now=rt.now())
    except HongwuError as exc:
        return _users_page(request, exc, status_code=422)
    return _users_page(request, message=f"已更新用户 {username}")


# --- organisation -----------------------------------------------------------------------


def _orgs_page(request: Request, error: HongwuError | None = None, message: str = "", values=None, status_code=200):
    with runtime(request).uow() as s:
        orgs = list(s.scalars(select(OrgUnit).order_by(OrgUnit.path)))
        seals = {row[0]: row[1] for row in s.execute(select(OrgSeal.org_unit_id, OrgSeal.sha256))}
        s.expunge_all()
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
        if not re.fullmatch(r"[A-Za-z0-9-]{1,60}", code.strip()):
            raise ValidationFailed("code: letters, digits and -", "编码只能包含字母、数字和 -")
        if not name.strip():
            raise ValidationFailed("name is required", "名称为必填项")
        with rt.uow() as s:
            if s.scalar(select(OrgUnit.id).where(OrgUnit.code == code.strip())) is not None:
                raise ValidationFailed(f"organisation {code!r} exists", f"编码「{code}」已存在")
            org = ensure_org(s, kind, code.strip(), name.strip(), parent or None)
            audit.append(s, chain=f"org:{org.code}", actor=v.username, action="org_created",
                         after={"kind": kind, "code": org.code, "name": org.name, "path": org.path}, now=rt.now())
    except HongwuError as exc:
        return _orgs_page(request, exc, values=values, status_code=422)
    return _orgs_page(request, message=f"已添加 {KIND_ZH.get(kind, kind)}「{name}」")


@router.post("/admin/orgs/{org_code}", dependencies=[Depends(check_csrf)])
async def update_org_notices(request: Request, org_code: str, v: Viewer = Depends(admin)):
    """An organisation's 机关代字 and electronic seal (PNG), each change audited."""
    from engine.notices.service import set_org_notice_settings

    rt = runtime(request)
    form = await request.form()
    upload = form.get("seal")
    seal = await upload.read() if isinstance(upload, UploadFile) and upload.filename else None
    try:
        with rt.uow() as s:
            set_org_notice_settings(s, org_by_code(s, org_code), actor=v.username, now=rt.now(),
                                    doc_prefix=str(form.get("doc_prefix") or ""), seal=seal,
                                    remove_seal=form.get("remove_seal") == "1")
    except HongwuError as exc:
        return _orgs_page(request, exc, status_code=422)
    return _orgs_page(request, message=f"已保存「{org_code}」的发文设置")


@router.get("/admin/orgs/{org_code}/seal.png")
def org_seal_image(request: Request, org_code: str, v: Viewer = Depends(admin)):
    with runtime(request).uow() as s:
        seal = s.get(OrgSeal, org_by_code(s, org_code).id)
        if seal is None:
            raise NotFound(f"{org_code} has no seal", "该组织尚未上传电子印章")
        return Response(seal.content, media_type=seal.content_type)


# --- deploy -----------------------------------------------------------------------------


def _deploy_page(request: Request, error: HongwuError | None = None, results=None, status_code=200):
    with runtime(request).uow() as s:
        rows = s.execute(select(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.name,
                                ProcessDefinition.sha256, ProcessDefinition.deployed_by, ProcessDefinition.deployed_at)
                         .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())).all()
        names = dict(s.execute(select(User.username, User.display_name)
                               .where(User.username.in_({r.deployed_by for r in rows}))).all())
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


def setting_module(key: str) -> ModuleType | None:
    """The domain module behind a setting, or None while it is not available."""
    entry = SETTING_MODULES.get(key)
    if entry is None:
        return None
    try:
        module = importlib.import_module(entry[0])
    except ImportError:
        return None
    if not all(hasattr(module, a) for a in ("SETTING_KEY", "default_setting", "validate_setting")):
        return None
    return module


def _setting_list() -> list[dict[str, Any]]:
    return [{"key": k, "title": t, "available": setting_module(k) is not None} for k, (_m, t) in SETTING_MODULES.items()]


def key_labels(module: ModuleType) -> dict[str, str]:
    """Readable names for a setting's keys, where the module has them."""
    labels: dict[str, str] = {}
    for g in getattr(module, "GROUNDS", []) or []:
        if hasattr(g, "id"):
            labels[g.id] = getattr(g, "text", None) or getattr(g, "title", None) or g.id
    for k, spec in (getattr(module, "SETTING_FIELDS", {}) or {}).items():
        labels[k] = spec[0] if isinstance(spec, (tuple, list)) and spec else str(spec)
    return labels


def editor_kind(value: Any) -> str:
    if isinstance(value, dict) and value and all(isinstance(x, bool) for x in value.values()):
        return "switches"
    if isinstance(value, dict) and value and all(isinstance(x, int) and not isinstance(x, bool) for x in value.values()):
        return "numbers"
    return "json"


def _settings_page(request: Request, key: str, org_code: str, *, draft: Any = None, problems: list[str] | None = None,
                   message: str = "", status_code: int = 200):
    from engine.settings_store import get_setting, setting_history

    module = setting_module(key)
    title = SETTING_MODULES[key][1] if key in SETTING_MODULES else key
    if key not in SETTING_MODULES:
        raise ValidationFailed(f"unknown setting {key!r}", f"设置项「{key}」不存在")
    ctx: dict[str, Any] = {"key": key, "title": title, "available": module is not None, "org_code": org_code,
                           "problems": problems or [], "message": message, "settings": _setting_list()}
    with runtime(request).uow() as s:
        ctx["orgs"] = [(o.code, o.name, o.kind) for o in s.scalars(
            select(OrgUnit).where(OrgUnit.kind.in_(("district", "street", "community", "compound"))).order_by(OrgUnit.path))]
        ctx["org_names"] = {code: name for code, name, _kind in ctx["orgs"]}
        if module is not None:
            org = org_by_code(s, org_code) if org_code else None
            current = get_setting(s, key, org, module.default_setting())
            rows = setting_history(s, key, org)
            names = dict(s.execute(select(User.username, User.display_name)
                                   .where(User.username.in_({h.created_by for h in rows}))).all())
            history = [{"version": h.version, "by": h.created_by, "by_name": actor_zh(h.created_by, names),
                        "at": h.created_at.isoformat()} for h in rows]
            value = current.value if draft is None else draft
            ctx.update(current=current, history=history, value=value, kind=editor_kind(module.default_setting()),
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
    kind = editor_kind(module.default_setting())
    problems: list[str] = []
    value: Any
    if kind == "switches":
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
    problems = problems or list(module.validate_setting(value))
    if problems:
        return _settings_page(request, key, org_code, draft=value, problems=problems, status_code=422)
    rt = runtime(request)
    try:
        with rt.uow() as s:
            org = org_by_code(s, org_code) if org_code else None
            saved = _store_setting(s, key, org, value, v, rt.now())
    except (ValidationFailed, Forbidden) as exc:
        problems = [d.get("message_zh") or exc.message_zh for d in exc.details] if exc.details else [exc.message_zh]
        return _settings_page(request, key, org_code, draft=value, problems=problems, status_code=422)
    return _settings_page(request, key, org_code, message=f"已保存为第 {saved.version} 版")


def _store_setting(s, key: str, org: OrgUnit | None, value: Any, v: Viewer, now):
    """Settings with rules of their own beyond their validator are stored by their owner: the
    prior-review catalogue only per street, by someone allowed to, with the legal locks checked."""
    from engine.settings_store import put_setting

    if key == "prior_review_catalogue":
        from engine.processes.prior_review import save_catalogue

        if org is None:
            raise ValidationFailed("the prior-review catalogue is set per street",
                                   "先议事项目录按街道设置，请选择一个街道")
        return save_catalogue(s, org, value, v.actor, now)
    return put_setting(s, key, org, value, v.username, now)


@router.get("/admin/settings")
def settings_home(request: Request, v: Viewer = Depends(admin)):
    return RedirectResponse(f"/admin/settings/{next(iter(SETTING_MODULES))}", status_code=303)


# --- holiday schedules ---------------------------------------------------------------------


def _calendar_page(request: Request, *, error: HongwuError | None = None, result=None, dry_run: bool = False,
                   values=None, status_code=200):
    from engine import calendar_store

    rt = runtime(request)
    this = rt.now().year
    with rt.uow() as s:
        years = [calendar_store.year_overview(s, y) for y in range(this - 1, this + 4)]
        for y in years:
            y["history"] = [{"version": r.version, "created_by": r.created_by, "created_at": r.created_at}
                            for r in calendar_store.schedule_history(s, y["year"])]
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
