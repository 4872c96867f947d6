"""What the game agents' services share: `/act` on observations, `/episode` from a seed.

`POST /act` takes `{"observations": [[...], ...]}` (each checked against the observation space
the agent learned on: its length, finite numbers, within the space's bounds) and answers an
action per observation, greedy by default. `POST /episode` takes `{"seed": 7}`, plays one
episode of the agent's game server-side and answers its return and length. Both with lineage.
"""

from __future__ import annotations

from typing import Any

import bentoml

from components.kinds.game_agent import inference
from components.kinds.game_agent.schemas import ActRequest, EpisodeRequest
from serving.common import InputLogging, bad_request, guarded, load, log_inputs, model_tag


def agent_service(family: str):
    """The `Service` class of an agent family (serving/<family>.py assigns it)."""

    class Service(InputLogging):
        bento_model = bentoml.models.BentoModel(model_tag(family))

        def __init__(self) -> None:
            served = load(self.bento_model)
            self.model, self.card, self.lineage = served.model, served.card, served.lineage
            self.inputs = served.inputs  # the served-input log (None: off)
            self.max_batch = served.max_batch or 1024

        @bentoml.api(input_spec=ActRequest)
        def act(self, observations: list, deterministic: bool = True,
                seed: int | None = None) -> dict[str, Any]:  # fmt: skip
            """An action per observation (greedy unless `deterministic` is false)."""
            if len(observations) > self.max_batch:
                message = f"observations: {len(observations)} exceed the limit of {self.max_batch}"
                return bad_request(message, 413)
            try:
                x = inference.check_observations(observations, self.card)
                actions = inference.act(self.model, x, deterministic, seed)
            except ValueError as exc:
                return bad_request(str(exc))
            log_inputs(self.inputs, lambda: inference.logged(self.card, x))
            return {"actions": [int(a) for a in actions], "deterministic": deterministic,
                    **self.lineage}  # fmt: skip

        @bentoml.api(input_spec=EpisodeRequest)
        def episode(self, seed: int) -> dict[str, Any]:
            """One greedy episode of the agent's game from `seed`: its return and length."""
            total, length, _ = inference.play(self.model, self.card.spec, seed)
            return {"seed": seed, "return": total, "length": length,
                    "environment": self.card.environment, **self.lineage}  # fmt: skip

        @bentoml.api
        def metadata(self) -> dict[str, Any]:
            """The served agent's lineage, game and observation space."""
            return {
                **self.lineage,
                "environment": self.card.environment,
                "observation_size": self.card.observation_size,
                "n_actions": self.card.n_actions,
                "low": self.card.low,
                "high": self.card.high,
                "reward_threshold": self.card.reward_threshold,
                "max_batch": self.max_batch,
            }

    Service.__doc__ = f"The {family} champion behind `/act` and `/episode`."
    service = bentoml.service(name=f"dlops-{family}", resources={"cpu": "1"},
                              traffic={"timeout": 60})(Service)  # fmt: skip
    guarded(service)
    return service
