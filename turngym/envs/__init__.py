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
