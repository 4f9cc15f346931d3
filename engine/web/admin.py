"""Administration: users and roles, the organisation hierarchy, deploying process versions and
the street-editable settings (negative-list grounds, prior-review catalogue, mediation deadlines).
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

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from engine import audit
from engine.config import BUNDLED_FORMS_DIR
from engine.db.models import ORG_KINDS, OrgUnit, ProcessDefinition, User
from engine.orgs import ensure_org, ensure_user, hash_password, org_by_code
from engine.runtime.errors import DeployError, HongwuError, ValidationFailed
from engine.runtime.roles import ROLES

from .context import Viewer, check_csrf, render, runtime, viewer
from .security import end_sessions, lock_user

router = APIRouter(include_in_schema=False)
KIND_ZH = {"district": "区", "street": "街道", "community": "社区", "compound": "小区"}
# Setting key -> module exposing SETTING_KEY, default_setting(), validate_setting(value).
SETTING_MODULES = {"negative_list": ("engine.domain.negative_list", "负面清单（候选人禁止条件）"),
                   "prior_review_catalogue": ("engine.domain.prior_review", "先议事项目录"),
                   "mediation_deadlines": ("engine.domain.mediation", "分级调解期限")}
MIN_PASSWORD = 8


def admin(request: Request, v: Viewer = Depends(viewer)) -> Viewer:
    v.require({"admin"})
    return v


@router.get("/admin")
def admin_home(request: Request, v: Viewer = Depends(admin)):
    return render(request, "admin/home.html", {"settings": _setting_list()})


# --- users ------------------------------------------------------------------------------


def _users_page(request: Request, error: HongwuError | None = None, message: str = "", values=None, status_code=200):
    with runtime(request).uow() as s:
        users = list(s.scalars(select(User).options(joinedload(User.jurisdiction)).order_by(User.username)))
        orgs = list(s.scalars(select(OrgUnit).order_by(OrgUnit.path)))
        s.expunge_all()
    return render(request, "admin/users.html", {"users": users, "orgs": orgs, "error": error, "message": message,
                                                "values": values or {}, "KIND_ZH": KIND_ZH}, status_code=status_code)


@router.get("/admin/users")
def users_page(request: Request, v: Viewer = Depends(admin)):
    return _users_page(request)


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
        s.expunge_all()
    return render(request, "admin/orgs.html", {"orgs": orgs, "error": error, "message": message, "values": values or {},
                                               "KIND_ZH": KIND_ZH, "kinds": ORG_KINDS}, status_code=status_code)


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


# --- deploy -----------------------------------------------------------------------------


def _deploy_page(request: Request, error: HongwuError | None = None, results=None, status_code=200):
    with runtime(request).uow() as s:
        rows = s.execute(select(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.name,
                                ProcessDefinition.sha256, ProcessDefinition.deployed_by, ProcessDefinition.deployed_at)
                         .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())).all()
    return render(request, "admin/deploy.html", {"definitions": rows, "error": error, "results": results},
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
            dest = (forms_dir / ref).resolve()
            if not str(dest).startswith(str(forms_dir.resolve())):
                raise DeployError(f"{ref}: form path leaves the forms folder", f"{ref}：表单路径无效")
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
        if module is not None:
            org = org_by_code(s, org_code) if org_code else None
            current = get_setting(s, key, org, module.default_setting())
            history = [{"version": h.version, "by": h.created_by, "at": h.created_at.isoformat()}
                       for h in setting_history(s, key, org)]
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
    from engine.settings_store import put_setting

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
    with rt.uow() as s:
        org = org_by_code(s, org_code) if org_code else None
        saved = put_setting(s, key, org, value, v.username, rt.now())
    return _settings_page(request, key, org_code, message=f"已保存为第 {saved.version} 版")


@router.get("/admin/settings")
def settings_home(request: Request, v: Viewer = Depends(admin)):
    return RedirectResponse(f"/admin/settings/{next(iter(SETTING_MODULES))}", status_code=303)
