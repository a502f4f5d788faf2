/**
 * What an adapter layer is, whatever its method: {@link io.peft4j.layer.ModuleAdapter} (one named adapter on one
 * module: its parameters, its part of the forward pass, merge and unmerge), and the helpers every layer uses to make
 * trainable parameters ({@link io.peft4j.layer.AdapterParameters}) and to change base weights in place
 * ({@link io.peft4j.layer.WeightUpdate}). Depends on DJL only.
 */
package io.peft4j.layer;
