"""A mypy plugin: calling a factory_boy factory gives the model it makes.

factory_boy's metaclass turns ``PatientFactory(...)`` into ``PatientFactory.create(...)``, and
``DjangoModelFactory[Patient]`` types ``create()`` as returning a ``Patient``; mypy types the call
itself as a ``PatientFactory``, because it reads neither a metaclass ``__call__`` nor a
``__new__`` that returns another class. This plugin (``[tool.mypy] plugins`` in pyproject.toml)
gives the call the factory's model, so tests call factories the usual way. A factory declared
without its model (plain ``DjangoModelFactory``) keeps mypy's own answer.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.maptype import map_instance_to_supertype
from mypy.nodes import TypeInfo
from mypy.plugin import FunctionContext, Plugin
from mypy.types import AnyType, Instance, Type, get_proper_type

BASE_FACTORY = "factory.base.BaseFactory"


def factory_call_model(ctx: FunctionContext) -> Type:
    """The model of the factory being called (its ``BaseFactory`` type argument)."""
    made = get_proper_type(ctx.default_return_type)
    if not isinstance(made, Instance):
        return ctx.default_return_type
    base = next(info for info in made.type.mro if info.fullname == BASE_FACTORY)
    (model,) = map_instance_to_supertype(made, base).args
    if isinstance(get_proper_type(model), AnyType):
        return ctx.default_return_type
    return model


class FactoryCallPlugin(Plugin):
    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        symbol = self.lookup_fully_qualified(fullname)
        if (
            symbol is not None
            and isinstance(symbol.node, TypeInfo)
            and symbol.node.has_base(BASE_FACTORY)
        ):
            return factory_call_model
        return None


def plugin(version: str) -> type[Plugin]:
    return FactoryCallPlugin
