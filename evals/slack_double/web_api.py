"""Response bodies of the Slack Web API methods the double implements.

Pure request -> body logic over a :class:`MessageStore`; the HTTP server lives in
``evals.slack_double.double_app``. A handler returns the body without ``ok`` or raises
:class:`ApiError`.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from evals.slack_double.ids import (
    APP_ID,
    BOT_ID,
    BOT_SCOPES,
    BOT_USER_ID,
    BOT_USER_NAME,
    INSTALLER_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
)
from evals.slack_double.messages import MessageStore, Stream

Body = dict[str, Any]
Handler = Callable[[Body, str | None], Body]

NO_TOKEN_METHODS = frozenset({"oauth.v2.access", "oauth.access", "api.test"})
"""Methods Slack serves without a token (client credentials or nothing)."""


class ApiError(Exception):
    """A Slack error response: ``{"ok": false, "error": error}`` (+ response_metadata)."""

    def __init__(self, error: str, detail: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.detail = detail

    def body(self) -> Body:
        """The JSON body Slack would send."""
        body: Body = {"ok": False, "error": self.error}
        if self.detail:
            body["response_metadata"] = {"messages": [f"[ERROR] {self.detail}"]}
        return body


def _required(args: Body, name: str) -> str:
    value = args.get(name)
    if value is None or value == "":
        raise ApiError("invalid_arguments", f"missing required field: {name}")
    return str(value)


def _stream_text(args: Body) -> tuple[str, list[dict[str, Any]]]:
    """Markdown text carried by ``markdown_text`` and ``markdown_text`` chunks, plus all chunks."""
    text = str(args.get("markdown_text") or "")
    raw = args.get("chunks")
    chunks = [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
    text += "".join(str(c.get("text", "")) for c in chunks if c.get("type") == "markdown_text")
    return text, chunks


class WebApi:
    """Slack Web API method handlers over a message store."""

    def __init__(self, store: MessageStore) -> None:
        self.store = store
        self.admins: set[str] = set()
        self.users: dict[str, Body] = {}
        self.socket_url = ""
        self.oauth_user_scope: str | None = None
        self.oauth_team_id = TEAM_ID
        """The workspace ``oauth.v2.access`` installs."""
        self.oauth_enterprise_id: str | None = None
        """Its Enterprise Grid org (``None``: not on Grid)."""
        self._views = 0
        self._installs = 0
        self.methods: dict[str, Handler] = {
            "api.test": lambda args, _token: {"args": args},
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.delete": self.chat_delete,
            "chat.startStream": self.chat_start_stream,
            "chat.appendStream": self.chat_append_stream,
            "chat.stopStream": self.chat_stop_stream,
            "assistant.threads.setStatus": self.assistant_thread,
            "assistant.threads.setSuggestedPrompts": self.assistant_thread,
            "assistant.threads.setTitle": self.assistant_thread,
            "reactions.add": self.reactions_add,
            "conversations.replies": self.conversations_replies,
            "conversations.info": self.conversations_info,
            "users.info": self.users_info,
            "views.open": self.views_open,
            "views.push": self.views_open,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "apps.connections.open": self.apps_connections_open,
            "oauth.v2.access": self.oauth_v2_access,
        }

    def handle(self, method: str, args: Body, token: str | None) -> Body:
        """``{"ok": true, ...}`` for ``method``; raises :class:`ApiError` for Slack errors."""
        handler = self.methods.get(method)
        if handler is None:
            raise ApiError("unknown_method")
        if token is None and method not in NO_TOKEN_METHODS:
            raise ApiError("not_authed")
        return {"ok": True, **handler(args, token)}

    # --- auth & oauth -------------------------------------------------------------------------

    def auth_test(self, args: Body, token: str | None) -> Body:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_USER_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def apps_connections_open(self, args: Body, token: str | None) -> Body:
        if not (token or "").startswith("xapp-"):
            raise ApiError("not_allowed_token_type")
        return {"url": f"{self.socket_url}?ticket={uuid.uuid4()}&app_id={APP_ID}"}

    def oauth_v2_access(self, args: Body, token: str | None) -> Body:
        if not args.get("client_id"):
            raise ApiError("invalid_client_id")
        if not args.get("client_secret"):
            raise ApiError("bad_client_secret")
        if not args.get("code") or args.get("code") == "bad":
            raise ApiError("invalid_code")
        self._installs += 1
        authed_user: Body = {"id": INSTALLER_USER_ID}
        if self.oauth_user_scope:
            authed_user.update(
                scope=self.oauth_user_scope,
                access_token=f"xoxp-installed-{self._installs}",
                token_type="user",
            )
        return {
            "access_token": f"xoxb-installed-{self._installs}",
            "token_type": "bot",
            "scope": BOT_SCOPES,
            "bot_user_id": BOT_USER_ID,
            "app_id": APP_ID,
            "team": {"id": self.oauth_team_id, "name": TEAM_NAME},
            "enterprise": (
                {"id": self.oauth_enterprise_id, "name": "Grid Org"}
                if self.oauth_enterprise_id
                else None
            ),
            "authed_user": authed_user,
            "is_enterprise_install": False,
        }

    # --- chat ---------------------------------------------------------------------------------

    def _bot_message(self, ts: str, text: str, args: Body) -> Body:
        message: Body = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": text,
            "ts": ts,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        for key in ("blocks", "attachments", "metadata"):
            if args.get(key) is not None:
                message[key] = args[key]
        return message

    def _message(self, args: Body) -> tuple[str, str, Body]:
        channel = args.get("channel")
        if not channel:
            raise ApiError("channel_not_found")
        ts = str(args.get("ts") or "")
        message = self.store.get(str(channel), ts)
        if message is None:
            raise ApiError("message_not_found")
        return str(channel), ts, message

    def chat_post_message(self, args: Body, token: str | None) -> Body:
        channel = args.get("channel")
        if not channel:
            raise ApiError("channel_not_found")
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            raise ApiError("no_text")
        message = self._bot_message(self.store.next_ts(), str(args.get("text") or ""), args)
        self.store.add(str(channel), message)
        return {"channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}

    def chat_update(self, args: Body, token: str | None) -> Body:
        channel, ts, message = self._message(args)
        # Slack keeps what a message said before each edit (edit history, compliance exports)
        before = {k: copy.deepcopy(message[k]) for k in ("text", "blocks") if k in message}
        message.setdefault("edit_history", []).append(before)
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in args:
                message[key] = args[key]
        message["edited"] = {"user": BOT_USER_ID, "ts": self.store.next_ts()}
        stream = self.store.stream(channel, ts)
        if stream is not None:
            stream.state = "stopped"
        return {
            "channel": channel,
            "ts": ts,
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def chat_post_ephemeral(self, args: Body, token: str | None) -> Body:
        if not args.get("channel"):
            raise ApiError("channel_not_found")
        if not args.get("user"):
            raise ApiError("user_not_in_channel")
        return {"message_ts": self.store.next_ts()}

    def chat_delete(self, args: Body, token: str | None) -> Body:
        channel, ts, _ = self._message(args)
        self.store.delete(channel, ts)
        return {"channel": channel, "ts": ts}

    # --- streaming ----------------------------------------------------------------------------

    def _live_stream(self, args: Body) -> tuple[str, str, Body, Stream]:
        channel, ts, message = self._message(args)
        stream = self.store.stream(channel, ts)
        if stream is None or stream.state != "streaming":
            raise ApiError("message_not_in_streaming_state")
        return channel, ts, message, stream

    def chat_start_stream(self, args: Body, token: str | None) -> Body:
        channel = _required(args, "channel")
        _required(args, "thread_ts")
        text, chunks = _stream_text(args)
        message = self._bot_message(self.store.next_ts(), text, args)
        stream = self.store.start_stream(channel, message)
        stream.chunks.extend(chunks)
        return {"channel": channel, "ts": message["ts"]}

    def chat_append_stream(self, args: Body, token: str | None) -> Body:
        channel, ts, message, stream = self._live_stream(args)
        text, chunks = _stream_text(args)
        message["text"] = message.get("text", "") + text
        stream.chunks.extend(chunks)
        self.store.count_append(stream)
        return {"channel": channel, "ts": ts}

    def chat_stop_stream(self, args: Body, token: str | None) -> Body:
        channel, ts, message, stream = self._live_stream(args)
        text, chunks = _stream_text(args)
        message["text"] = message.get("text", "") + text
        stream.chunks.extend(chunks)
        for key in ("blocks", "metadata"):
            if args.get(key) is not None:
                message[key] = args[key]
        stream.state = "stopped"
        return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    # --- assistant, reactions -----------------------------------------------------------------

    def assistant_thread(self, args: Body, token: str | None) -> Body:
        _required(args, "channel_id")
        _required(args, "thread_ts")
        return {}

    def reactions_add(self, args: Body, token: str | None) -> Body:
        if not args.get("channel") or not args.get("timestamp"):
            raise ApiError("no_item_specified")
        name = args.get("name")
        if not name:
            raise ApiError("invalid_name")
        message = self.store.get(str(args["channel"]), str(args["timestamp"]))
        if message is not None:  # unknown messages (never seeded) are accepted silently
            reactions: list[Body] = message.setdefault("reactions", [])
            reaction = next((r for r in reactions if r["name"] == name), None)
            if reaction is None:
                reactions.append({"name": name, "users": [BOT_USER_ID], "count": 1})
            elif BOT_USER_ID in reaction["users"]:
                raise ApiError("already_reacted")
            else:
                reaction["users"].append(BOT_USER_ID)
                reaction["count"] += 1
        return {}

    # --- conversations, users -----------------------------------------------------------------

    def conversations_replies(self, args: Body, token: str | None) -> Body:
        channel = str(args.get("channel") or "")
        if not self.store.has_channel(channel):
            raise ApiError("channel_not_found")
        thread_ts = str(args.get("ts") or "")
        messages = self.store.thread(channel, thread_ts)
        if not messages or messages[0]["ts"] != thread_ts:
            raise ApiError("thread_not_found")
        replies = messages[1:]
        if replies:
            messages[0].update(
                thread_ts=thread_ts,
                reply_count=len(replies),
                reply_users=sorted({str(m.get("user")) for m in replies}),
                latest_reply=replies[-1]["ts"],
            )
        return {"messages": messages, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def conversations_info(self, args: Body, token: str | None) -> Body:
        channel = str(args.get("channel") or "")
        if not channel:
            raise ApiError("channel_not_found")
        kind = channel[0]
        info: Body = {
            "id": channel,
            "created": 1_600_000_000,
            "is_archived": False,
            "is_channel": kind == "C",
            "is_group": kind == "G",
            "is_im": kind == "D",
            "is_mpim": False,
            "is_private": kind in "GD",
            "is_member": True,
            "context_team_id": TEAM_ID,
        }
        if kind == "D":
            info.update(user=INSTALLER_USER_ID, is_open=True)
        else:
            info.update(name=f"channel-{channel.lower()}", is_general=False, creator=BOT_USER_ID)
            info["name_normalized"] = info["name"]
        return {"channel": info}

    def users_info(self, args: Body, token: str | None) -> Body:
        user_id = str(args.get("user") or "")
        if not user_id:
            raise ApiError("user_not_found")
        name = BOT_USER_NAME if user_id == BOT_USER_ID else f"user-{user_id.lower()}"
        user: Body = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": name.replace("-", " ").title(),
            "deleted": False,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "is_admin": user_id in self.admins,
            "is_owner": False,
            "is_bot": user_id == BOT_USER_ID,
            "profile": {"display_name": name, "real_name": name.replace("-", " ").title()},
        }
        user.update(copy.deepcopy(self.users.get(user_id, {})))
        return {"user": user}

    # --- views --------------------------------------------------------------------------------

    def _view(self, args: Body, view_id: str | None = None, kind: str = "modal") -> Body:
        view = args.get("view")
        if not isinstance(view, dict):
            raise ApiError("invalid_arguments", "missing required field: view")
        if view_id is None:
            self._views += 1
            view_id = f"V0{self._views:08d}"
        out: Body = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": kind,
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "hash": f"{self.store.next_ts()}.{view_id.lower()}",
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        out.update({k: v for k, v in view.items() if k != "id"})
        return {"view": out}

    def views_open(self, args: Body, token: str | None) -> Body:
        _required(args, "trigger_id")
        return self._view(args)

    def views_update(self, args: Body, token: str | None) -> Body:
        if not (args.get("view_id") or args.get("external_id")):
            raise ApiError("invalid_arguments", "missing required field: view_id")
        return self._view(args, view_id=str(args.get("view_id") or "") or None)

    def views_publish(self, args: Body, token: str | None) -> Body:
        _required(args, "user_id")
        return self._view(args, kind="home")
