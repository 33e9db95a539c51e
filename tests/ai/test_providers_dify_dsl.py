"""The importable Dify DSL in integrations/dify/: structure, references, and that the workflows'
inputs and outputs are exactly what DifyProvider sends and reads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from rapport.ai.providers.dify import INPUT_LIMITS, outputs_model
from rapport.ai.schemas import Enhancement, Icebreaker
from tests.ai import ENHANCEMENT, ICEBREAKER

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read the Dify DSL")

DSL_DIR = Path(__file__).resolve().parents[2] / "integrations" / "dify"
NODE_ID = re.compile(r"^[A-Za-z0-9_]{1,50}$")
VARIABLE_REF = re.compile(r"\{\{#([^.#}]+)\.([^#}]+)#\}\}")

# The design article's contract (workflow name → inputs, outputs) and our schema for it.
WORKFLOWS: dict[str, tuple[list[str], list[str], Any, dict[str, Any]]] = {
    "conversation_enhancer": (
        ["message", "sender_id", "receiver_id", "conversation_history"],
        ["enhanced_message", "topic_suggestions", "emotion_analysis", "warning_flags"],
        Enhancement,
        ENHANCEMENT,
    ),
    "icebreaker_generator": (
        ["user_a_profile", "user_b_profile", "context"],
        ["opening_lines", "shared_interests", "conversation_starters"],
        Icebreaker,
        ICEBREAKER,
    ),
}


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((DSL_DIR / f"{name}.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def nodes_by_id(dsl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nodes = dsl["workflow"]["graph"]["nodes"]
    ids = [node["id"] for node in nodes]
    assert len(ids) == len(set(ids)), "duplicate node ids"
    return {node["id"]: node for node in nodes}


def node_vars(node: dict[str, Any]) -> set[str]:
    data = node["data"]
    kind = data["type"]
    if kind == "start":
        return {v["variable"] for v in data["variables"]}
    if kind == "llm":
        return {"text"}
    if kind == "code":
        return set(data["outputs"])
    if kind == "template-transform":
        return {"output"}
    return set()


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_top_level_shape(name: str) -> None:
    dsl = load(name)
    assert dsl["kind"] == "app"
    assert isinstance(dsl["version"], str) and dsl["version"] == "0.3.0"
    assert dsl["app"]["mode"] == "workflow"
    assert dsl["app"]["name"] == name
    assert {"graph", "features"} <= set(dsl["workflow"])
    for dependency in dsl["dependencies"]:
        assert dependency["type"] == "marketplace"


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_nodes_and_edges_form_one_valid_chain(name: str) -> None:
    dsl = load(name)
    nodes = nodes_by_id(dsl)
    for node_id, node in nodes.items():
        assert NODE_ID.match(node_id), node_id
        assert node["type"] == "custom"
        assert {"x", "y"} <= set(node["position"])
    edges = dsl["workflow"]["graph"]["edges"]
    for edge in edges:
        assert edge["source"] in nodes and edge["target"] in nodes, edge["id"]
        assert (edge["sourceHandle"], edge["targetHandle"], edge["type"]) == (
            "source",
            "target",
            "custom",
        )
        assert edge["data"]["sourceType"] == nodes[edge["source"]]["data"]["type"]
        assert edge["data"]["targetType"] == nodes[edge["target"]]["data"]["type"]
    kinds = [node["data"]["type"] for node in nodes.values()]
    assert kinds.count("start") == 1 and kinds.count("end") == 1
    # every node is reached from start and reaches end
    following = {edge["source"]: edge["target"] for edge in edges}
    walk = [next(i for i, n in nodes.items() if n["data"]["type"] == "start")]
    while walk[-1] in following:
        walk.append(following[walk[-1]])
    assert set(walk) == set(nodes)
    assert nodes[walk[-1]]["data"]["type"] == "end"


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_every_reference_points_at_an_existing_node_variable(name: str) -> None:
    nodes = nodes_by_id(load(name))
    selectors: list[list[str]] = []
    texts: list[str] = []
    for node in nodes.values():
        data = node["data"]
        selectors += [
            v["value_selector"] for v in data.get("variables", []) if "value_selector" in v
        ]
        selectors += [o["value_selector"] for o in data.get("outputs", []) if isinstance(o, dict)]
        texts += [part["text"] for part in data.get("prompt_template", [])]
    assert selectors and texts
    for node_id, var in selectors:
        assert var in node_vars(nodes[node_id]), (node_id, var)
    refs = [m.groups() for text in texts for m in VARIABLE_REF.finditer(text)]
    assert refs
    for node_id, var in refs:
        assert node_id in nodes and var in node_vars(nodes[node_id]), (node_id, var)


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_inputs_and_outputs_are_the_articles_and_the_providers(name: str) -> None:
    inputs, outputs, _, _ = WORKFLOWS[name]
    nodes = nodes_by_id(load(name))
    start = next(n for n in nodes.values() if n["data"]["type"] == "start")
    end = next(n for n in nodes.values() if n["data"]["type"] == "end")
    variables = start["data"]["variables"]
    assert [v["variable"] for v in variables] == inputs
    assert {v["variable"]: v["max_length"] for v in variables} == {
        i: INPUT_LIMITS[i] for i in inputs
    }
    assert [o["variable"] for o in end["data"]["outputs"]] == outputs
    llm = next(n for n in nodes.values() if n["data"]["type"] == "llm")
    assert llm["data"]["model"]["provider"] == "langgenius/openai/openai"
    assert any("JSON" in part["text"] for part in llm["data"]["prompt_template"])


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_code_node_turns_model_text_into_outputs_the_provider_accepts(name: str) -> None:
    _, outputs, schema, sample = WORKFLOWS[name]
    code = next(n for n in nodes_by_id(load(name)).values() if n["data"]["type"] == "code")
    namespace: dict[str, Any] = {}
    exec(compile(code["data"]["code"], f"{name}.code", "exec"), namespace)  # noqa: S102 - our own DSL
    llm_text = "Sure!\n```json\n" + json.dumps(sample, ensure_ascii=False) + "\n```"
    result = namespace["main"](text=llm_text)
    assert list(result) == outputs == list(code["data"]["outputs"])
    assert outputs_model(schema, result) == schema.model_validate(sample)
    with pytest.raises(ValueError, match="JSON object"):
        namespace["main"](text="I cannot help with that.")
