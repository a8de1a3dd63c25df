"""GETDiff in torch: config, network, diffusion, sampler. Never reads MIDI."""
