/** PyTorch-style module paths and parameter names for DJL block trees. */
package io.peft4j.model;
