"""What the game agents' services share: `/act` on observations, `/episode` from a seed.

`POST /act` takes `{"observations": [[...], ...]}` (each checked against the observation space
the agent learned on: its length, finite numbers, within the space's bounds) and answers an
action per observation, greedy by default. `POST /episode` takes `{"seed": 7}`, plays one
episode of the agent's game server-side and answers its return and length. Both with lineage.
"""

from __future__ import annotations

import bentoml

from components.kinds.game_agent import inference
from components.kinds.game_agent.schemas import SERVICE, Acted, ActRequest, EpisodeRequest, Played
from serving.common import ModelService, bad_request, declared


class AgentService(ModelService):
    """An agent champion behind `/act` and `/episode`; every answer names its lineage."""

    @bentoml.api(input_spec=ActRequest)
    def act(self, observations: list, deterministic: bool = True,
            seed: int | None = None) -> Acted:  # fmt: skip
        """An action per observation (greedy unless `deterministic` is false)."""
        served = self.served
        refused = self.refused_batch(served, len(observations), "observations")
        if refused is not None:
            return refused
        try:
            x = inference.check_observations(observations, served.card)
            actions = inference.act(served.model, x, deterministic, seed)
        except ValueError as exc:
            return bad_request(str(exc))
        self.log(served, lambda: inference.logged(served.card, x))
        body = {"actions": [int(a) for a in actions], "deterministic": deterministic}
        return self.answer(served, Acted, body)

    @bentoml.api(input_spec=EpisodeRequest)
    def episode(self, seed: int) -> Played:
        """One greedy episode of the agent's game from `seed`: its return and length."""
        served = self.served
        total, length, _ = inference.play(served.model, served.card.spec, seed)
        body = {"seed": seed, "return": total, "length": length,
                "environment": served.card.environment}  # fmt: skip
        return self.answer(served, Played, body)


def agent_service(family: str):
    """The `Service` class of an agent family (serving/<family>.py assigns it)."""
    cls = type(
        "Service", (AgentService,), {"__doc__": f"The {family} champion: `/act`, `/episode`."}
    )
    return declared(family, inference, SERVICE)(cls)
