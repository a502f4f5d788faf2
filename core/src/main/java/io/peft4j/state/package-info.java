/** PEFT-compatible adapter state dicts and adapter directories ({@code adapter_config.json} + safetensors). */
package io.peft4j.state;
