"""The coding agent's tools: read, search, edit (whole files or Codex patches) and a shell in
a sandbox, each bounded and each explaining its mistakes to the model."""

from hearth.agent.tools.errors import ToolCallError
from hearth.agent.tools.observation import Observation
from hearth.agent.tools.sandbox import SandboxMode, SandboxUnavailable
from hearth.agent.tools.toolbox import Proposal, Toolbox

__all__ = ["Observation", "Proposal", "SandboxMode", "SandboxUnavailable", "ToolCallError",
           "Toolbox"]
