"""Notebook source of the neurons exercise: text answers only, for stub and solution."""

from ._cells import answer, intro, md

# --------------------------------------------------------------------------------------------
# Exercise: neurons (L09/neuron)
# --------------------------------------------------------------------------------------------

NE = "neurons"
NE_QA, NE_QB = (f"{NE}.q{c}" for c in "ab")

NEURONS = [
    md("intro", intro("Neurons", "L09/neuron", r'''
This exercise has no code: it asks for two short texts about the biological neuron, the model
behind the artificial neurons and perceptrons of the next exercises. Read about the neuron (for
instance [HOML] chapter 10, "From Biological to Artificial Neurons", or any introduction to
neuroscience) before you answer.
''')),
    md("qa", r'''
## Qa How does a Neuron Work?

In broad terms, how does a neuron communicate?

Then explain, again with the wording of an engineer, not a biologist, how the neurons are
structured in the brain.
'''),
    answer(NE_QA, r'''
A neuron is a cell that collects signals on its dendrites, sums them up in the cell body and, when
the combined input pushes its membrane potential over a threshold, fires: it sends a short
electrical pulse, the action potential or spike, along its axon. At the ends of the axon the spike
releases chemical messengers (neurotransmitters) across a small gap, the synapse, onto the dendrites
of the next neurons, where they excite or inhibit that neuron; the strength of each synapse
weights its contribution, and synapses strengthen or weaken with use, which is how the brain
learns. So, in engineering terms, a neuron is a leaky integrate-and-fire unit with weighted inputs,
a threshold non-linearity and a binary, pulse-coded output sent to many receivers. The brain holds
about 86 billion of them, each connected to thousands of others, organized as a massively parallel,
hierarchical network: the cortex is built of layers and columns of neurons, information flows from
the sensory areas through successive stages that extract ever more abstract features, and many
connections feed back to earlier stages, with no central clock or processor.
'''),
    md("qb", r'''
## Qb Cognition

Now, explaining cognition is still a pretty impossible philosophical question to answer. So you
should answer this question: **what is your understanding of cognition?**

If we reproduce biological neurons, and just make enough of them, in your opinion, will a machine
ever be able to have *cognition*?
'''),
    answer(NE_QB, r'''
We understand cognition as the mental processes of acquiring and using knowledge: perceiving,
attending, remembering, reasoning, learning, using language and planning actions, and beyond
recognizing patterns also understanding them, i.e. relating them to other knowledge and using them
in new situations. Whether enough artificial neurons would give a machine cognition is open. In
our opinion the number of neurons alone is not enough: the brain's abilities come from how its
neurons are organized and wired, from learning over a lifetime in a body that interacts with the
world, and from chemistry and timing that today's artificial neurons leave out. If a machine
reproduced those too, we see no principled reason why it could not show cognition in the functional
sense, since the brain is a physical system; whether it would also have consciousness and real
understanding, and not just behave as if, is the philosophical question we cannot settle.
'''),
]


NAME = NE
CELLS = NEURONS

# group02-typical-mistakes: no code to patch; the second answer was forgotten
MISTAKES: dict = {}
# group02's own answers: None leaves the placeholder, "" leaves the cell empty
MISTAKE_ANSWERS = {
    NE_QA: "A neuron gets signals from other neurons through its dendrites and fires an electrical "
    "signal along the axon when the input is big enough. The neurons are connected in a big network.",
    NE_QB: None,
}
