"""Dialogue games with simulated partners, after LMRL-Gym (Abdulhai et al., 2023).

* :mod:`.twenty_questions`: ``turngym/TwentyQuestions-v0``, yes/no questions about a hidden
  object, answered by a rule-based oracle over :mod:`.objects`.
* :mod:`.guess_my_city`: ``turngym/GuessMyCity-v0``, free-form questions about a hidden city,
  answered from :mod:`.cities`.
* :mod:`.wordle`: ``turngym/Wordle-v0``, five-letter words with real duplicate-letter rules.
* :mod:`.text_maze`: ``turngym/TextMaze-v0``, a seeded grid maze seen one cell around at a time.
* :mod:`.policies`: a scripted expert and a random policy for each game.

Importing this package imports no torch; the envs depend only on ``turngym.core`` and numpy.
"""

from turngym.envs.games.guess_my_city import GuessMyCityEnv
from turngym.envs.games.text_maze import TextMazeEnv
from turngym.envs.games.twenty_questions import TwentyQuestionsEnv
from turngym.envs.games.wordle import WordleEnv

__all__ = ["GuessMyCityEnv", "TextMazeEnv", "TwentyQuestionsEnv", "WordleEnv"]
