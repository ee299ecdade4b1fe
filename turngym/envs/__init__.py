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
