"""Hardware in the loop: a simulation whose customers' meters are read and switched over a bus.

* :mod:`~m2c.sim.hil.link` - :class:`MeterLink`, reads named customers' meters
  through a :class:`~m2c.devices.gateway.MeterGateway` on their reading day and
  turns disconnections into relay commands;
* :mod:`~m2c.sim.hil.feed` - :class:`SimMeterFeed`, emulated meters that show
  what a simulation's meters would (``m2c emulate --scenario``);
* :mod:`~m2c.sim.hil.session` - :class:`HilSession`, a whole ``m2c hil`` run on
  a real or emulated bus, with its logs;
* :mod:`~m2c.sim.hil.through_driver` - a run that reads its own meters through
  the DL/T 645 driver over a pty (``m2c run --through-driver``).
"""
