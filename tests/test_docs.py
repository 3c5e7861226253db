"""Every public name has a docstring (numpydoc sections for the ones that take
parameters), so `help()` in a notebook answers the investigator's question."""

import inspect

import flowgraph


def public_callables():
    for name in flowgraph.__all__:
        obj = getattr(flowgraph, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            yield name, obj


def test_every_public_name_is_documented():
    missing = [name for name, obj in public_callables() if not inspect.getdoc(obj)]
    assert missing == []


def test_functions_with_parameters_document_them():
    undocumented = []
    for name, obj in public_callables():
        if not inspect.isfunction(obj):
            continue
        params = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
        doc = inspect.getdoc(obj) or ""
        if params and "Parameters" not in doc and len(params) > 1:
            undocumented.append(name)
    assert undocumented == []
