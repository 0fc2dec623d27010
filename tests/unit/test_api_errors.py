"""The API's validation messages read in Chinese, choices included."""

from __future__ import annotations

from typing import Literal

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from yibao.api.errors import validation_details


class _Body(BaseModel):
    stage: Literal["pre", "mid", "post"]


def test_choices_are_listed_without_english_words() -> None:
    with pytest.raises(ValidationError) as caught:
        _Body.model_validate({"stage": "later"})
    errors = [{**e, "loc": ("body", *e["loc"])} for e in caught.value.errors()]
    (detail,) = validation_details(RequestValidationError(errors))
    assert detail["field"] == "stage"
    assert "'pre'、'mid'、'post'" in detail["message"], detail
    assert " or " not in detail["message"]
