"""BentoML service of the PPO agent family: `/act` and `/episode` (serving/agents.py)."""

from serving.agents import agent_service

Service = agent_service("ppo")
