"""The coding agent's tools (list, read, search, apply_patch, write_file, shell) and the sandbox
its shell commands run in."""

from hearth.agent.tools.arguments import ToolCallError
from hearth.agent.tools.observation import Observation, Proposal
from hearth.agent.tools.sandbox import SandboxMode, SandboxUnavailableError
from hearth.agent.tools.toolbox import Toolbox

__all__ = ["Observation", "Proposal", "SandboxMode", "SandboxUnavailableError", "ToolCallError",
           "Toolbox"]
