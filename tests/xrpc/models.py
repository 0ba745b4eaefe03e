"""Hand-written stand-ins for generated models, used by the runtime tests.

They have the shape the compiler emits (``Params``/``Input``/``Output``, aliases for
camelCase wire names, one ``XrpcDeclaredError`` subclass per declared error) without
depending on the compiler.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lexforge.runtime.xrpc import Procedure, Query, Subscription, XrpcDeclaredError


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True)


class EchoParams(_Model):
    name: str = Field(max_length=20)
    count: int = Field(default=1, ge=1, le=100)
    flag: bool | None = None
    tags: list[str] | None = None
    nums: list[int] | None = None
    include_all: bool = Field(default=False, alias="includeAll")


class EchoOutput(_Model):
    name: str
    count: int
    flag: bool | None = None
    tags: list[str] | None = None
    nums: list[int] | None = None
    include_all: bool = Field(alias="includeAll")


class NotFoundError(XrpcDeclaredError):
    error = "ThingNotFound"


class CreateInput(_Model):
    text: str = Field(max_length=1000)
    created_at: str = Field(alias="createdAt")


class CreateOutput(_Model):
    uri: str
    cid: str


class Commit(_Model):
    seq: int
    repo: str


class Info(_Model):
    name: str
    message: str | None = None


class SubParams(_Model):
    cursor: int | None = None


class FutureCursorError(XrpcDeclaredError):
    error = "FutureCursor"


ECHO = Query(
    nsid="com.example.echo",
    params=EchoParams,
    output=EchoOutput,
    output_encoding="application/json",
    errors=(NotFoundError,),
)
CREATE = Procedure(
    nsid="com.example.create",
    input=CreateInput,
    input_encoding="application/json",
    output=CreateOutput,
    output_encoding="application/json",
)
PING = Procedure(nsid="com.example.ping")
UPLOAD = Procedure(
    nsid="com.example.upload",
    input_encoding="*/*",
    output=CreateOutput,
    output_encoding="application/json",
)
DOWNLOAD = Query(
    nsid="com.example.download",
    params=EchoParams,
    output_encoding="application/vnd.ipld.car",
)
SUBSCRIBE = Subscription(
    nsid="com.example.subscribe",
    params=SubParams,
    messages={"#commit": Commit, "#info": Info},
    errors=(FutureCursorError,),
)

BINDINGS = {b.nsid: b for b in (ECHO, CREATE, PING, UPLOAD, DOWNLOAD, SUBSCRIBE)}
