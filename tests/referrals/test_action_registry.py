"""The one registry of referral actions (referrals/transitions.py, ACTIONS): every binding it names
exists and fits its service function, and the page and the API offer exactly what it declares."""

from __future__ import annotations

import inspect

import pytest

from referrals.api.actions import API_ACTIONS
from referrals.transitions import ACTIONS, Action

TAKEN_BY_PEOPLE = [action for action, spec in ACTIONS.items() if spec.service]
# The arguments every action's service function takes besides its input.
FRAME = {"referral_id", "user"}


def test_every_action_is_registered_once():
    assert list(ACTIONS) == list(Action.values)


@pytest.mark.parametrize("action", TAKEN_BY_PEOPLE)
def test_an_action_people_take_has_its_form_serializer_and_message(action):
    spec = ACTIONS[action]
    assert spec.form and spec.serializer and spec.done, action
    assert callable(spec.service_function())
    assert spec.form_class() is not None and spec.serializer_class() is not None


@pytest.mark.parametrize("action", [a for a, spec in ACTIONS.items() if not spec.service])
def test_an_action_without_a_service_is_offered_by_nothing(action):
    spec = ACTIONS[action]
    assert not (spec.form or spec.serializer or spec.done), action
    assert action not in API_ACTIONS


@pytest.mark.parametrize("action", TAKEN_BY_PEOPLE)
def test_the_serializers_validated_data_are_the_service_functions_arguments(action):
    spec = ACTIONS[action]
    parameters = inspect.signature(spec.service_function()).parameters
    required = {name for name, p in parameters.items() if p.default is inspect.Parameter.empty}
    fields = spec.serializer_class()().fields
    given = {field.source for field in fields.values()}
    assert given <= set(parameters) - FRAME, (action, given)
    # Every argument without a default comes from the body (or has a default in the serializer).
    assert required - FRAME <= given, (action, required)


@pytest.mark.parametrize("action", TAKEN_BY_PEOPLE)
def test_the_forms_service_kwargs_are_the_service_functions_arguments(action):
    spec = ACTIONS[action]
    parameters = set(inspect.signature(spec.service_function()).parameters) - FRAME
    form_class = spec.form_class()
    if "service_kwargs" in vars(form_class):  # a form that shapes its own arguments (assessment)
        form = form_class({})
        form.is_valid()
        assert set(form.service_kwargs()) <= parameters, action
    else:
        assert set(form_class.base_fields) <= parameters, action


def test_the_api_takes_exactly_the_registered_actions_with_a_serializer():
    assert set(API_ACTIONS) == set(TAKEN_BY_PEOPLE)


def test_a_page_form_shared_with_another_action_names_a_real_one():
    for action, spec in ACTIONS.items():
        if spec.page_as:
            assert ACTIONS[spec.page_as].form, action
