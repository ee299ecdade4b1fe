"""Built-in environments. Registering them imports no env code (entry points are lazy)."""

from turngym.core.registry import register

register(
    id="turngym/Keyword-v0",
    entry_point="turngym.envs.keyword:KeywordEnv",
    description="Say the given word: the smallest learnable env (tests, smoke runs).",
)
register(
    id="turngym/CodeInterpreter-v0",
    entry_point="turngym.envs.code_interpreter:CodeInterpreterEnv",
    max_turns=6,
    description="Math problems solved by writing Python that the env runs; answer in \\boxed{}.",
)
register(
    id="turngym/LongCount-v0",
    entry_point="turngym.envs.long_horizon:LongCountEnv",
    max_turns=64,
    description="Sum values read out one per turn among filler: a history that outgrows context.",
)
register(
    id="turngym/GUI-v0",
    entry_point="turngym.envs.gui.env:GUIEnv",
    max_turns=30,
    description="Operate synthetic apps (forms, settings, lists, menus) from screenshots.",
)
register(
    id="turngym/GUIInverseDynamics-v0",
    entry_point="turngym.envs.gui.env:GUIInverseDynamicsEnv",
    max_turns=1,
    description="Name the GUI action between a before and an after screenshot (UIShift-style).",
)
register(
    id="turngym/Search-v0",
    entry_point="turngym.envs.search:SearchEnv",
    max_turns=8,
    description="Multi-hop questions about a fictional encyclopedia: search(query, k), then <answer>.",
)
register(
    id="turngym/FunctionCalling-v0",
    entry_point="turngym.envs.function_calling.env:FunctionCallingEnv",
    max_turns=10,
    description="Call typed APIs correctly: BFCL-style call matching and stateful app goals.",
)
register(
    id="turngym/ClinicalDialogue-v0",
    entry_point="turngym.envs.clinical.env:ClinicalDialogueEnv",
    # no wrapper cap: the env caps questions itself (max_questions) so its summary survives
    description="Interview a simulated patient, then <diagnosis> (research sim, not medical advice).",
)
# ---- dialogue games (turngym/envs/games): the game ends itself; the cap is a safety net ----
register(
    id="turngym/TwentyQuestions-v0",
    entry_point="turngym.envs.games.twenty_questions:TwentyQuestionsEnv",
    max_turns=30,
    description="Find a hidden object with yes/no questions to a rule-based oracle (LMRL-Gym).",
)
register(
    id="turngym/GuessMyCity-v0",
    entry_point="turngym.envs.games.guess_my_city:GuessMyCityEnv",
    max_turns=30,
    description="Find a hidden city by asking free-form questions about it (LMRL-Gym).",
)
register(
    id="turngym/Wordle-v0",
    entry_point="turngym.envs.games.wordle:WordleEnv",
    max_turns=12,
    description="Guess a five-letter word in six tries with green/yellow/gray feedback.",
)
register(
    id="turngym/TextMaze-v0",
    entry_point="turngym.envs.games.text_maze:TextMazeEnv",
    max_turns=60,
    description="Find the exit of a seeded 5x5 maze, seeing only the adjacent cells.",
)
register(
    id="turngym/VisualSearch-v0",
    entry_point="turngym.envs.visual_search.env:VisualSearchEnv",
    max_turns=6,
    description="Find a small detail in a large image with crop/zoom tools; answer in <answer>.",
)

# Multi-agent games (PettingZoo; make() returns them unwrapped). See docs/multiagent.md.
for _name, _entry, _api, _description in (
    ("TicTacToe", "tictactoe:TicTacToeEnv", "aec", "Tic-tac-toe in text, zero-sum (SPIRAL)."),
    ("KuhnPoker", "kuhn_poker:KuhnPokerEnv", "aec", "Kuhn poker, zero-sum (SPIRAL)."),
    ("Negotiation", "negotiation:NegotiationEnv", "aec", "Split items, zero-sum (SPIRAL)."),
    ("RedTeam", "red_team:RedTeamEnv", "aec", "Attacker vs defender (Self-RedTeam)."),
    ("CoopAnswer", "cooperative:CoopAnswerEnv", "aec", "Pioneer and observer (CORY)."),
    ("CodeTestDuel", "code_tests:CodeTestDuelEnv", "parallel", "Tests vs code (UTRL)."),
):
    register(
        id=f"turngym/{_name}-v0",
        entry_point=f"turngym.envs.multiagent.{_entry}",
        multi_agent=_api,
        description=_description,
    )
