"""What the model reads before the task: AGENTS.md files and the repository map."""

from __future__ import annotations

from pathlib import Path

from hearth.agent.approval import only_reads
from hearth.agent.instructions import agents_text, repository_map, system_prompt


def test_agents_files_are_read_from_the_root_down_to_the_working_folder(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "AGENTS.md").write_text("Use pytest.")
    (tmp_path / "pkg" / "sub" / "AGENTS.md").write_text("Never edit generated files.")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "AGENTS.md").write_text("Not on the way.")
    text = agents_text(tmp_path, tmp_path / "pkg" / "sub")
    assert text.index("Use pytest.") < text.index("Never edit generated files.")
    assert "Not on the way." not in text


def test_a_cut_agents_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("rule\n" * 1000)  # 4,999 characters once stripped
    text = agents_text(tmp_path, tmp_path, budget=100)
    assert "AGENTS.md cut here: 4899 more characters" in text


def test_the_map_names_python_definitions_and_stays_in_its_budget(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("class Shop:\n    pass\n\ndef total(x):\n    return x\n")
    for i in range(200):
        (tmp_path / f"data_{i:03}.txt").write_text("x")
    text = repository_map(tmp_path, budget=500)
    assert "app.py: Shop, total" in text
    assert len(text) < 600 and "more files not shown" in text


def test_the_system_prompt_holds_rules_instructions_and_map(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("Use pytest.")
    (tmp_path / "main.py").write_text("def run():\n    pass\n")
    prompt = system_prompt(tmp_path)
    assert "finish" in prompt and "Use pytest." in prompt and "main.py: run" in prompt


def test_only_single_reading_commands_go_without_asking() -> None:
    assert only_reads("ls -la") and only_reads("git diff HEAD") and only_reads("cat a.py")
    assert not only_reads("rm -rf x") and not only_reads("cat a > b")
    assert not only_reads("ls; rm x") and not only_reads("git commit -am x")
    assert not only_reads("python -c 'print(1)'")
