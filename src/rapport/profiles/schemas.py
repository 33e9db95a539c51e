"""Profile payloads: what the owner edits and sees, and what others may see."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Gender = Literal["woman", "man", "nonbinary"]
LangCode = str


class Seeking(BaseModel):
    model_config = ConfigDict(extra="forbid")

    genders: list[Gender] = Field(min_length=1, max_length=3)
    age_min: int = Field(ge=18, le=99)
    age_max: int = Field(ge=18, le=99)

    @model_validator(mode="after")
    def _range(self) -> Seeking:
        if self.age_min > self.age_max:
            raise ValueError("age_min must not exceed age_max")
        self.genders = sorted(set(self.genders))
        return self


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)


class ProfileUpdate(BaseModel):
    """PATCH /me: every field optional; ``location: null`` clears the location."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=40)
    birth_date: date | None = None
    gender: Gender | None = None
    seeking: Seeking | None = None
    bio: str | None = Field(default=None, max_length=500)
    interests: list[str] | None = Field(default=None, max_length=20)
    languages: list[LangCode] | None = Field(default=None, max_length=10)
    city: str | None = Field(default=None, max_length=80)
    location: LocationIn | None = None
    locale: Literal["en", "zh-CN"] | None = None

    @field_validator("display_name", "city")
    @classmethod
    def _strip(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = " ".join(v.split())
        if not v:
            raise ValueError("must not be blank")
        return v

    @field_validator("interests")
    @classmethod
    def _interests(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and any(not 1 <= len(t.strip()) <= 40 for t in v):
            raise ValueError("each interest must be 1-40 characters")
        return v

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        out = []
        for code in v:
            code = code.strip().lower()
            if len(code) != 2 or not code.isascii() or not code.isalpha():
                raise ValueError("languages are ISO 639-1 codes such as 'zh' or 'en'")
            if code not in out:
                out.append(code)
        return out


class InterestLabel(BaseModel):
    id: str
    category: str
    en: str
    zh: str


class LocationOut(BaseModel):
    set: bool
    precision_km: float
    updated_at: datetime | None


class MyProfile(BaseModel):
    id: uuid.UUID
    email: str | None
    locale: str
    display_name: str | None
    birth_date: date | None
    age: int | None
    gender: Gender | None
    seeking: Seeking | None
    bio: str
    interests: list[InterestLabel]
    languages: list[str]
    city: str | None
    location: LocationOut
    complete: bool


class PublicProfile(BaseModel):
    id: uuid.UUID
    display_name: str
    age: int
    gender: Gender
    bio: str
    interests: list[InterestLabel]
    languages: list[str]
    city: str | None
    distance: str | None = Field(
        description="A distance bucket such as 'under_10km', never a number"
    )
    active: Literal["today", "this_week", "earlier"]


class TaxonomyOut(BaseModel):
    version: int
    categories: list[dict[str, str]]
    tags: list[InterestLabel]
