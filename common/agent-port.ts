/** The TCP port of wms-agent, where wmsctl and the console dial an agent unless told otherwise. */

/**
 * 50061: the agent listens here (`--listen` default `0.0.0.0:50061`) and the controller dials
 * `FQDN:50061` unless an inventory line, `--resolve` or `--port` says otherwise (DESIGN sections
 * 5 and 6). Changing it breaks every fleet's firewall rules: it is part of the contract.
 */
export const DEFAULT_AGENT_PORT = 50061;
