"""BentoML service of the DQN agent family: `/act` and `/episode` (serving/agents.py)."""

from serving.agents import agent_service

Service = agent_service("dqn")
